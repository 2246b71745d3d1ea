"""Reading training work dirs: mmengine's scalars, chained over launches, and the run's setup.

What a work dir holds (written by mmengine's ``Runner`` and ``ExportBackboneHook``):

* ``<timestamp>/vis_data/scalars.json``: one JSON object per line (for a launch logged to TensorBoard
  alone, its ``events.out.tfevents.*`` files, read into the same records: :mod:`.tensorboard`). Training
  lines carry ``iter`` (and ``epoch`` in epoch-based loops), ``lr`` and ``loss*`` keys; ``step`` is the iteration.
  Validation lines carry the metrics (``accuracy/top1``, ``pascal_voc/mAP``, ``coco/bbox_mAP``…)
  and ``step`` = the epoch (epoch-based loops) or the iteration (iteration-based loops).
* ``distill.json`` (both stages; :class:`~nst_det.engine.hooks.DistillStateHook` writes it when training
  starts): the two networks' names and the built distillation core's record (losses with their weights,
  taps with theirs, adapters); :mod:`nst_det.sidecar`.
* the export sidecar ``backbone_<arch>.json`` (ImageNet stage, at the end): student ``arch``, ``teacher``,
  the same core record, final ``val`` metrics and the teacher's own.

Several ``<timestamp>/`` folders: each is one launch of the Runner. They are read in timestamp
order and chained (:func:`chain_segments`): a launch whose first logged iteration is later than the
first iteration of the chain so far is a resume and continues the chain (dropping anything the
earlier launch logged at or after the resume point); a launch that starts again from the beginning
is a repeat and replaces the chain. So a repeated run reports its newest launch, a resumed run its
whole history. Launches without training lines (an empty file of a run that died at start-up, a
test-only launch) are skipped.

A run's setup (:attr:`Run.setup`: student, teacher, core record) comes from ``distill.json``, else from the
export sidecar (also one written before the core existed). A work dir with neither (a run from an older
version) is reported from its scalars: student and teacher are "—", and the method is inferred from the
logged loss names (``loss_nst_*`` -> NST, ``loss_mse_*`` -> MSE, ``loss_kd`` -> KD, ...), marked ``*``.

"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

from nst_det.reporting.tensorboard import EVENTS_PATTERN, read_event_scalars
from nst_det.sidecar import DISTILL_FILE, FORMER_KEYS, KEYS, distill_of
from nst_det.utils.errors import NSTDetError

SCALARS_GLOB = "*/vis_data/scalars.json"
EVENTS_GLOB = f"*/vis_data/{EVENTS_PATTERN}"  # mmengine's TensorboardVisBackend, beside or instead of scalars.json


# ----------------------------------------------------------------------------- reading
def read_scalars(path: Union[str, Path]) -> list[dict]:
    """The JSON objects of one ``scalars.json``, in file order.

    A malformed *last* line is dropped (a run being written right now); a malformed line anywhere
    else is an error naming the file and line.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise NSTDetError(f"cannot read {path}: {exc.strerror or exc}") from None
    records = []
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    for position, (number, line) in enumerate(numbered):
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            if position == len(numbered) - 1:
                break
            raise NSTDetError(f"{path}:{number} is not a JSON object per line ({exc})") from None
        records.append(record)
    return records


def is_train_record(record: dict) -> bool:
    """Training log lines carry the iteration counter (``iter``) or a loss; validation lines neither."""
    return "iter" in record or any(k.startswith("loss") for k in record)


@dataclass
class Segment:
    """One launch of the Runner: its ``scalars.json`` split into training and validation lines."""

    path: Path
    train: list[dict]
    val: list[dict]

    @classmethod
    def read(cls, path: Path) -> "Segment":
        records = read_event_scalars(path) if path.name.startswith("events.out.tfevents.") else read_scalars(path)
        return cls(path, [r for r in records if is_train_record(r)], [r for r in records if not is_train_record(r)])

    @property
    def first_step(self) -> float:
        return _step(self.train[0]) if self.train else math.inf

    @property
    def by_epoch(self) -> bool:
        return any("epoch" in r for r in self.train)


def _step(record: dict) -> float:
    value = record.get("step", record.get("iter"))
    return float(value) if isinstance(value, (int, float)) else math.nan


def find_scalars(work_dir: Union[str, Path]) -> list[Path]:
    """The ``<timestamp>/vis_data/scalars.json`` files of ``work_dir``, oldest launch first; for a launch
    logged to TensorBoard alone, its event files (``--vis tensorboard`` without the local backend, or a
    plain TensorBoard log folder: ``work_dir/events.out.tfevents.*``)."""
    work_dir = Path(work_dir)
    if not work_dir.exists():
        raise NSTDetError(f"work dir {work_dir} does not exist")
    if not work_dir.is_dir():
        raise NSTDetError(f"work dir {work_dir} is not a directory")
    found = list(work_dir.glob(SCALARS_GLOB))
    with_json = {p.parent for p in found}
    found += [p for p in work_dir.glob(EVENTS_GLOB) if p.parent not in with_json]
    found = sorted(found, key=lambda p: (p.parent.parent.name, p.name)) or sorted(work_dir.glob(EVENTS_PATTERN))
    if not found:
        raise NSTDetError(f"work dir {work_dir} has no {SCALARS_GLOB} nor TensorBoard event files "
                          "(has training started there?)")
    return found


def chain_segments(segments: Sequence[Segment]) -> tuple[list[dict], list[dict], list[Path]]:
    """Chain launches (oldest first) into one history: ``(train lines, val lines, files used)``.

    A launch starting later than the chain's first iteration resumes it: the chain keeps its
    training lines before the resume iteration and its validation lines before the resume epoch
    (or iteration, for iteration-based loops), then continues with the launch. A launch starting
    at or before the chain's first iteration is a repeat and replaces the chain.
    """
    train: list[dict] = []
    val: list[dict] = []
    used: list[Path] = []
    for segment in segments:
        if not segment.train:
            continue
        start = segment.first_step
        if train and start > _step(train[0]):
            first = segment.train[0]
            val_cut = float(first["epoch"]) if segment.by_epoch and "epoch" in first else start
            train = [r for r in train if _step(r) < start]
            val = [r for r in val if _step(r) < val_cut]
        else:
            train, val, used = [], [], []
        train += segment.train
        val += segment.val
        used.append(segment.path)
    return train, val, used


def find_sidecar(work_dir: Union[str, Path]) -> tuple[Optional[dict], Optional[Path]]:
    """The export sidecar of ``work_dir`` (``backbone_*.json`` first, else ``classifier_*.json`` or
    any top-level JSON object with the sidecar's keys; the newest of equals), or ``(None, None)``."""
    candidates = []
    for path in Path(work_dir).glob("*.json"):
        if path.name == DISTILL_FILE:
            continue
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and any(all(k in info for k in keys) for keys in (KEYS, FORMER_KEYS)):
            rank = 0 if path.name.startswith("backbone_") else 1 if path.name.startswith("classifier_") else 2
            candidates.append((rank, -path.stat().st_mtime, path, info))
    if not candidates:
        return None, None
    _, _, path, info = min(candidates, key=lambda c: c[:2])
    return info, path


def read_setup(work_dir: Union[str, Path], sidecar: Optional[dict]) -> tuple[Optional[dict], str]:
    """``(setup, source)``: ``dict(student, teacher, distill)`` from ``distill.json`` (source ``"record"``), else
    from the export sidecar (``"sidecar"``), else ``(None, "none")``."""
    path = Path(work_dir) / DISTILL_FILE
    try:
        record = json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        raise NSTDetError(f"{path} is not a JSON object (written by DistillStateHook)") from None
    if isinstance(record, dict) and "distill" in record:
        return dict(student=record.get("student"), teacher=record.get("teacher"), distill=distill_of(record)), "record"
    if sidecar is not None:
        teacher = sidecar.get("teacher") or {}
        return dict(student=sidecar.get("arch"), teacher=teacher.get("arch"), distill=distill_of(sidecar)), "sidecar"
    return None, "none"


# ----------------------------------------------------------------------------- one run
@dataclass
class Run:
    """One work dir: its chained training/validation history, its setup and (if any) its export sidecar."""

    name: str
    work_dir: Path
    train: list[dict]
    val: list[dict]
    scalars: list[Path]
    sidecar: Optional[dict] = None
    sidecar_path: Optional[Path] = None
    by_epoch: bool = True
    setup: Optional[dict] = None   # student, teacher, distill (the core's record): read_setup
    setup_source: str = "none"     # where ``setup`` came from: "record" (distill.json), "sidecar" or "none"

    @property
    def loss_keys(self) -> list[str]:
        keys: dict[str, None] = {}
        for record in self.train:
            keys.update((k, None) for k in record if k.startswith("loss"))
        return list(keys)

    def series(self, key: str, which: str = "val") -> tuple[list[float], list[float]]:
        """``(steps, values)`` of ``key`` over the training (iteration) or validation (epoch) lines."""
        records = self.val if which == "val" else self.train
        points = [(_step(r), float(r[key])) for r in records if isinstance(r.get(key), (int, float))]
        return [p[0] for p in points], [p[1] for p in points]

    def metric_keys(self) -> list[str]:
        keys: dict[str, None] = {}
        for record in self.val:
            keys.update((k, None) for k, v in record.items()
                        if isinstance(v, (int, float)) and k not in ("step", "time", "data_time"))
        return list(keys)


def load_run(work_dir: Union[str, Path], name: Optional[str] = None) -> Run:
    """Read a work dir (see the module docstring for how launches are chained)."""
    work_dir = Path(work_dir)
    segments = [Segment.read(p) for p in find_scalars(work_dir)]
    train, val, used = chain_segments(segments)
    if not used:  # no launch logged a training line yet: show the newest launch that logged anything
        logged = [s for s in segments if s.val]
        if logged:
            val, used = logged[-1].val, [logged[-1].path]
    sidecar, sidecar_path = find_sidecar(work_dir)
    setup, source = read_setup(work_dir, sidecar)
    by_epoch = any("epoch" in r for r in train) if train else True
    return Run(name or work_dir.resolve().name, work_dir, train, val, used, sidecar, sidecar_path, by_epoch,
               setup, source)
