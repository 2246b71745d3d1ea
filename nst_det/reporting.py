"""A/B reports over training work dirs: read mmengine's scalars, summarise, tabulate, plot.

    runs = [load_run("work_dirs/demo_baseline_r18"), load_run("work_dirs/demo_nst_r50_r18")]
    rows = summarize(runs, metric="accuracy/top1")
    print(format_table(rows, "accuracy/top1", markdown=True))
    plot_runs(runs, "accuracy/top1", "curves.png")

What a work dir holds (written by mmengine's ``Runner`` and ``ExportBackboneHook``):

* ``<timestamp>/vis_data/scalars.json``: one JSON object per line. Training lines carry ``iter``
  (and ``epoch`` in epoch-based loops), ``lr`` and ``loss*`` keys; ``step`` is the iteration.
  Validation lines carry the metrics (``accuracy/top1``, ``pascal_voc/mAP``, ``coco/bbox_mAP``…)
  and ``step`` = the epoch (epoch-based loops) or the iteration (iteration-based loops).
* the export sidecar ``backbone_<arch>.json`` (ImageNet stage only): student ``arch``, ``teacher``,
  ``taps``, ``nst``, ``kd``, final ``val`` metrics. Detection work dirs have none.

Several ``<timestamp>/`` folders: each is one launch of the Runner. They are read in timestamp
order and chained (:func:`chain_segments`): a launch whose first logged iteration is later than the
first iteration of the chain so far is a resume and continues the chain (dropping anything the
earlier launch logged at or after the resume point); a launch that starts again from the beginning
is a repeat and replaces the chain. So a repeated run reports its newest launch, a resumed run its
whole history. Launches without training lines (an empty file of a run that died at start-up, a
test-only launch) are skipped.

A work dir without a sidecar is reported from its scalars, and its setup is found elsewhere:

* an ImageNet-stage run still in progress: from the config mmengine dumped beside the scalars
  (``<timestamp>/vis_data/config.py``, a ``ClassifierDistiller`` model); its method carries a ``†``;
* anything else (detection runs): student and teacher are "—", and the method is inferred from the
  logged loss names (``loss_nst_*`` -> NST, ``loss_mse_*`` -> MSE, ``loss_kd`` -> KD, none -> "—"),
  marked ``*``.

Tables report each run's **final** validation value: the validation split of these configs is the
test set (ImageNet val, VOC07 test, COCO val2017), so no epoch is picked on it. A "best" column
appears only when a report selects the epoch on another, held-out split's metric (``select_on``),
and is labelled with that metric.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

from nst_det.sidecar import KEYS as SIDECAR_KEYS
from nst_det.sidecar import setup_record
from nst_det.utils.errors import NSTDetError

DASH = "—"
INFERRED_MARK = "*"
CONFIG_MARK = "†"
SCALARS_GLOB = "*/vis_data/scalars.json"


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
        records = read_scalars(path)
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
    """The ``<timestamp>/vis_data/scalars.json`` files of ``work_dir``, oldest launch first."""
    work_dir = Path(work_dir)
    if not work_dir.exists():
        raise NSTDetError(f"work dir {work_dir} does not exist")
    if not work_dir.is_dir():
        raise NSTDetError(f"work dir {work_dir} is not a directory")
    found = sorted(work_dir.glob(SCALARS_GLOB), key=lambda p: p.parent.parent.name)
    if not found:
        raise NSTDetError(f"work dir {work_dir} has no {SCALARS_GLOB} (has training started there?)")
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
    any top-level JSON object with ``arch`` and ``taps``; the newest of equals), or ``(None, None)``."""
    candidates = []
    for path in Path(work_dir).glob("*.json"):
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and all(k in info for k in SIDECAR_KEYS):
            rank = 0 if path.name.startswith("backbone_") else 1 if path.name.startswith("classifier_") else 2
            candidates.append((rank, -path.stat().st_mtime, path, info))
    if not candidates:
        return None, None
    _, _, path, info = min(candidates, key=lambda c: c[:2])
    return info, path


def setup_from_config(path: Union[str, Path]) -> Optional[dict]:
    """A sidecar-like record (arch, teacher, taps, nst, kd) from a dumped ``ClassifierDistiller``
    config, or ``None`` when the file is missing, unreadable or configures another model."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        from mmengine.config import Config
        model = Config.fromfile(str(path), import_custom_modules=False).get("model") or {}
    except Exception:  # a config we cannot read only costs the table its arch columns
        return None
    if model.get("type") != "ClassifierDistiller" or not isinstance(model.get("student"), dict):
        return None
    return dict(setup_record(model), val={}, teacher_val=None)


# ----------------------------------------------------------------------------- one run
@dataclass
class Run:
    """One work dir: its chained training/validation history and (if any) its export sidecar."""

    name: str
    work_dir: Path
    train: list[dict]
    val: list[dict]
    scalars: list[Path]
    sidecar: Optional[dict] = None
    sidecar_path: Optional[Path] = None
    by_epoch: bool = True
    setup_source: str = "sidecar"  # where ``sidecar`` came from: "sidecar", "config" or "none"

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
    source = "sidecar"
    if sidecar is None:
        config = used[-1].parent / "config.py" if used else None
        sidecar = setup_from_config(config) if config else None
        source, sidecar_path = ("config", config) if sidecar else ("none", None)
    by_epoch = any("epoch" in r for r in train) if train else True
    return Run(name or work_dir.resolve().name, work_dir, train, val, used, sidecar, sidecar_path, by_epoch,
               source)


def method_of(run: Run) -> str:
    """CE / KD / NST / KD+NST from the sidecar (or the dumped config, marked ``†``); else inferred
    from the logged loss names (``loss_kd``, ``loss_nst_*``, ``loss_mse_*``; marked ``*``)."""
    if run.sidecar is not None:
        parts = [label for label, key in (("KD", "kd"), ("NST", "nst")) if run.sidecar.get(key)]
        return ("+".join(parts) or "CE") + (CONFIG_MARK if run.setup_source == "config" else "")
    keys = run.loss_keys
    parts = [label for label, present in (("KD", "loss_kd" in keys),
                                          ("NST", any(k.startswith("loss_nst") for k in keys)),
                                          ("MSE", any(k.startswith("loss_mse") for k in keys))) if present]
    return ("+".join(parts) if parts else DASH) + INFERRED_MARK


def nst_of(run: Run) -> tuple[str, str]:
    """``(taps, λ)``: taps as ``student←teacher`` pairs and the NST loss weight (kernel if not poly)."""
    info = run.sidecar
    if info is not None:
        if not info.get("nst") or not info.get("taps"):
            return DASH, DASH
        taps = ", ".join(f"{s}←{t}" for s, t in info["taps"])
        nst = info["nst"]
        weight = _number(nst.get("loss_weight"))
        kernel = nst.get("kernel", "poly")
        return taps, weight if kernel == "poly" else f"{weight} ({kernel})"
    logged = [k.split("_", 2)[2] for k in run.loss_keys if k.startswith(("loss_nst_", "loss_mse_"))]
    return (", ".join(logged) if logged else DASH), ("?" if logged else DASH)


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if value is not None else "?"


# ----------------------------------------------------------------------------- summary
@dataclass
class Summary:
    """One row of the report; metric values are ``None`` where the run has none.

    ``final`` is the metric at the last validation. ``selected`` is the metric at the validation
    where the held-out ``select_on`` metric was best (only when a report selects on one).
    """

    name: str
    student: str
    teacher: str
    method: str
    taps: str
    weight: str
    final: Optional[float]
    loss: Optional[float]
    loss_cls: Optional[float]
    delta: Optional[float] = None
    selected: Optional[float] = None
    selected_step: Optional[float] = None
    delta_selected: Optional[float] = None
    teacher_metric: Optional[float] = None


def select_step(run: Run, select_on: str, higher_is_better: bool = True) -> Optional[float]:
    """The validation step where ``select_on`` (a held-out split's metric) is best; the first of ties."""
    steps, values = run.series(select_on)
    if not values:
        return None
    best = max(range(len(values)), key=lambda i: (values[i] if higher_is_better else -values[i], -i))
    return steps[best]


def summarize(runs: Sequence[Run], metric: str = "accuracy/top1", select_on: Optional[str] = None,
              higher_is_better: bool = True) -> list[Summary]:
    """One :class:`Summary` per run; ``delta`` is the final metric minus the first run's.

    Args:
        runs: the work dirs; the first is the reference.
        metric: the reported metric (the test set's, as in every mmdet/ImageNet validation).
        select_on: optionally, a metric of a held-out split logged alongside; each run then also
            reports ``metric`` at the validation where ``select_on`` was best. It must differ from
            ``metric``: picking the epoch on the reported metric would pick on the test set.
        higher_is_better: direction of ``select_on``.

    ``teacher_metric`` is the teacher's own value of the metric, where the sidecar's
    ``teacher_val`` has it (``accuracy/top1`` -> ``teacher/top1``).

    The metric is read from the validation lines; a run with none of them falls back to its
    sidecar's ``val`` (final values). A metric no run has is an error listing the ones they have.
    """
    if not runs:
        raise NSTDetError("no runs to compare")
    if select_on is not None and select_on == metric:
        raise NSTDetError(f"selecting the epoch on {metric!r}, the reported metric, picks on the test set; "
                          "--select-on must name a held-out split's metric")
    rows = []
    for run in runs:
        steps, values = run.series(metric)
        if values:
            final = values[-1]
        else:
            sidecar_val = (run.sidecar or {}).get("val") or {}
            final = sidecar_val.get(metric) if isinstance(sidecar_val.get(metric), (int, float)) else None
        loss = run.series("loss", "train")[1]
        loss_cls = run.series("loss_cls", "train")[1]
        info = run.sidecar
        teacher = (info or {}).get("teacher") or {}
        taps, weight = nst_of(run)
        teacher_val = (info or {}).get("teacher_val") or {}
        teacher_metric = teacher_val.get("teacher/" + metric.rsplit("/", 1)[-1])
        row = Summary(
            name=run.name,
            student=(info.get("arch") or "?") if info else DASH,
            teacher=(teacher.get("arch") or "?") if teacher else DASH,
            method=method_of(run), taps=taps, weight=weight, final=final,
            loss=loss[-1] if loss else None, loss_cls=loss_cls[-1] if loss_cls else None,
            teacher_metric=float(teacher_metric) if isinstance(teacher_metric, (int, float)) else None)
        if select_on is not None:
            row.selected_step = select_step(run, select_on, higher_is_better)
            at_step = dict(zip(steps, values))
            row.selected = at_step.get(row.selected_step) if row.selected_step is not None else None
        rows.append(row)
    if all(r.final is None for r in rows):
        available = sorted({k for run in runs for k in run.metric_keys()})
        where = ", ".join(str(run.work_dir) for run in runs)
        raise NSTDetError(f"metric {metric!r} is not logged in {where}; logged validation metrics: "
                          f"{available or 'none yet'}")
    if select_on is not None and all(r.selected_step is None for r in rows):
        available = sorted({k for run in runs for k in run.metric_keys()})
        raise NSTDetError(f"held-out metric {select_on!r} is not logged; logged validation metrics: {available}")
    reference = rows[0]
    for row in rows:
        if row.final is not None and reference.final is not None:
            row.delta = row.final - reference.final
        if row.selected is not None and reference.selected is not None:
            row.delta_selected = row.selected - reference.selected
    return rows


def _fmt(value: Optional[float], digits: int = 2, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def table_columns(rows: Sequence[Summary], metric: str, by_epoch: bool = True,
                  select_on: Optional[str] = None) -> tuple[list[str], list[list[str]]]:
    """Header and cell strings of the report table.

    The selected columns appear only with ``select_on``, labelled with the held-out metric.
    Metric values get 2 decimals when they look like percentages (any above 1), else 4 (mAP in 0..1).
    """
    at = "ep" if by_epoch else "it"
    values = [abs(v) for r in rows for v in (r.final, r.selected, r.teacher_metric) if v is not None]
    digits = 2 if any(v > 1 for v in values) else 4
    teacher = f"teacher ({metric})" if any(r.teacher_metric is not None for r in rows) else "teacher"
    header = ["run", "student", teacher, "method", "NST taps (student←teacher)", "λ", f"final {metric}", "Δ final"]
    if select_on is not None:
        header += [f"{metric} at best held-out {select_on} (@{at})", "Δ (held-out selection)"]
    header += ["loss", "loss_cls"]
    body = []
    for i, row in enumerate(rows):
        reference = i == 0
        teacher = row.teacher if row.teacher_metric is None else f"{row.teacher} ({_fmt(row.teacher_metric, digits)})"
        cells = [row.name, row.student, teacher, row.method, row.taps, row.weight, _fmt(row.final, digits),
                 "ref" if reference and row.final is not None else _fmt(row.delta, digits, signed=True)]
        if select_on is not None:
            selected = _fmt(row.selected, digits)
            if row.selected is not None and row.selected_step is not None:
                selected += f" (@{_number(row.selected_step)})"
            cells += [selected, "ref" if reference and row.selected is not None
                      else _fmt(row.delta_selected, digits, signed=True)]
        body.append(cells + [_fmt(row.loss, 4), _fmt(row.loss_cls, 4)])
    return header, body


def format_table(rows: Sequence[Summary], metric: str, markdown: bool = False, by_epoch: bool = True,
                 select_on: Optional[str] = None) -> str:
    """The report as aligned plain text, or as a GitHub markdown table (``markdown=True``).

    Final is the last logged validation value (no epoch is picked on the reported metric); with
    ``select_on``, also the metric where that held-out metric was best. Δ is against the first run;
    the teacher's own value of the metric (when its sidecar recorded it) follows its arch;
    ``loss``/``loss_cls`` are the last logged (window-averaged) training values.
    """
    header, body = table_columns(rows, metric, by_epoch, select_on)
    if markdown:
        escape = lambda cell: cell.replace("|", "\\|")  # noqa: E731
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join("---" if i < 6 else "---:" for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(escape(c) for c in cells) + " |" for cells in body]
    else:
        widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
        just = lambda i, cell: cell.ljust(widths[i]) if i < 6 else cell.rjust(widths[i])  # noqa: E731
        lines = ["  ".join(just(i, c) for i, c in enumerate(header)).rstrip(),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(just(i, c) for i, c in enumerate(cells)).rstrip() for cells in body]
    notes = []
    if any(row.method.endswith(CONFIG_MARK) for row in rows):
        notes.append(f"{CONFIG_MARK} no export sidecar yet (run in progress): setup read from the config "
                     "dumped in <timestamp>/vis_data/config.py")
    if any(row.method.endswith(INFERRED_MARK) for row in rows):
        notes.append(f"{INFERRED_MARK} no export sidecar (a detection run, or an unrecognised config): "
                     "method inferred from the logged loss names")
    if notes:
        lines += [""] + notes
    return "\n".join(lines)


# ----------------------------------------------------------------------------- over seeds
def mean_std(values: Sequence[float]) -> tuple[float, Optional[float]]:
    """Mean and sample standard deviation (n − 1); the deviation is ``None`` for one value."""
    if not values:
        raise NSTDetError("mean_std: no values")
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def seed_table(results: dict[str, Sequence[dict]], metrics: Sequence[tuple[str, str]], digits: int = 3) -> str:
    """A markdown table of final test metrics over seeds: ``mean ± std`` per row and metric.

    Args:
        results: row label -> one metrics dict per seed (``test_metrics.json`` of ``tools/test_det.py``).
        metrics: ``(key, column title)`` pairs, e.g. ``("pascal_voc/mAP", "VOC mAP")``.
        digits: decimals.

    The standard deviation is the sample one (n − 1), shown only for two or more seeds; the per-seed
    values of the first metric follow, in seed order.
    """
    header = ["row", "seeds", *[f"{title} (mean ± std)" for _, title in metrics], f"{metrics[0][1]} per seed"]
    lines = ["| " + " | ".join(header) + " |", "|---|---:|" + "---:|" * len(metrics) + "---|"]
    for label, per_seed in results.items():
        cells = [label, str(len(per_seed))]
        for key, _ in metrics:
            values = [float(m[key]) for m in per_seed if isinstance(m.get(key), (int, float))]
            if len(values) != len(per_seed):
                raise NSTDetError(f"seed table: row {label!r} lacks {key!r} in {len(per_seed) - len(values)} of "
                                  f"its {len(per_seed)} runs")
            mean, std = mean_std(values)
            cells.append(f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else ""))
        first = metrics[0][0]
        cells.append(", ".join(f"{float(m[first]):.{digits}f}" for m in per_seed))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- plot
def plot_runs(runs: Sequence[Run], metric: str, out: Union[str, Path], title: Optional[str] = None) -> Path:
    """Write one PNG: training ``loss_cls`` (solid) and total ``loss`` (dashed) vs iteration, and
    the validation ``metric`` vs epoch (or iteration), one colour per run.

    The loss axis turns logarithmic when a total loss exceeds twice the largest ``loss_cls``.
    """
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FormatStrFormatter

    out = Path(out)
    if out.suffix.lower() != ".png":
        raise NSTDetError(f"--plot {out}: the plot is written as PNG; give a path ending in .png")
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(12.5, 4.6))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, run in enumerate(runs):
        colour = colours[i % len(colours)]
        steps, values = run.series("loss_cls", "train")
        if steps:
            ax_loss.plot(steps, values, color=colour, lw=1.6)
        total_steps, total = run.series("loss", "train")
        if total_steps and total != values:  # for CE-only runs loss == loss_cls: draw it once
            ax_loss.plot(total_steps, total, color=colour, lw=1.2, ls="--", alpha=0.8)
        steps, values = run.series(metric)
        if steps:
            ax_metric.plot(steps, values, color=colour, lw=1.6, marker="o", ms=4, label=run.name)
        else:
            ax_metric.plot([], [], color=colour, lw=1.6, marker="o", ms=4, label=f"{run.name} (no {metric})")
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("training loss")
    ax_loss.set_title("training loss")
    # a total loss far above loss_cls (KD's T²-scaled term) would flatten the loss_cls curves
    cls_max = max((v for run in runs for v in run.series("loss_cls", "train")[1]), default=0.0)
    all_losses = [v for run in runs for key in ("loss", "loss_cls") for v in run.series(key, "train")[1]]
    if cls_max > 0 and all_losses and min(all_losses) > 0 and max(all_losses) > 2 * cls_max:
        ax_loss.set_yscale("log")
        ax_loss.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax_loss.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
        ax_loss.set_title("training loss (log scale)")
    ax_loss.grid(alpha=0.3)
    ax_loss.legend(handles=[Line2D([], [], color="0.3", lw=1.6, label="loss_cls"),
                            Line2D([], [], color="0.3", lw=1.2, ls="--", label="loss (total, if different)")],
                   loc="upper right", fontsize=8)
    by_epoch = all(run.by_epoch for run in runs)
    ax_metric.set_xlabel("epoch" if by_epoch else "iteration")
    ax_metric.set_ylabel(metric)
    ax_metric.set_title(f"validation {metric}")
    ax_metric.grid(alpha=0.3)
    if by_epoch:
        ax_metric.xaxis.get_major_locator().set_params(integer=True)
    ax_metric.legend(loc="best", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=120)
    except OSError as exc:
        raise NSTDetError(f"cannot write plot {out}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return out
