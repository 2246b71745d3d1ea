"""The FPN-distillation stability sweep (``tools/sweep_distill.py``): which NST weight, distillation warm-up,
gradient clipping and LR warm-up keep each detector family's first iterations healthy.

A *cell* is one setting of one shipped config (:class:`Cell`); it runs once per seed as a
:class:`~nst_det.engine.short_runs.ShortRun`, and its baseline is the same run with the distillation weighted 0
(same init, data order and sampling: only the distillation gradient differs). Every finished run is appended
to ``runs.jsonl`` under the sweep's folder, so an interrupted sweep continues where it stopped and a cell that
another stage already ran is not run twice. Verdicts are :func:`judge`'s.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

from nst_det.det.stability import (
    Comparison,
    DivergenceRule,
    compare,
    detection_loss,
    distill_prefix,
    first_divergence,
)
from nst_det.engine.short_runs import ShortRun, ShortRunResult, train_short

# Faster R-CNN's RPN/RoI sampling at the demo configs' sizes (configs/_base_/det_demo_voc.py): the same heads,
# fewer proposals and sampled RoIs per image (keys under the student model)
_RPN_LIGHT = {"train_cfg.rpn_proposal.nms_pre": 600, "train_cfg.rpn_proposal.max_per_img": 200,
              "test_cfg.rpn.nms_pre": 300, "test_cfg.rpn.max_per_img": 100}


@dataclass(frozen=True)
class Family:
    """A detector family's shipped FPN-distillation configs (per dataset), the options that make its heads
    CPU-sized for the sweep (``light``: keys under the student model; the demo configs are CPU-sized already),
    and whether its VOC/COCO configs clip gradients already and have an LR warm-up of their own (FCOS's stock
    recipe: max_norm 35, lr/3 for 500 iterations). ``detector``: the student's mmdet type."""

    detector: str
    configs: dict
    light: dict = field(default_factory=dict)
    clips: bool = False
    own_lr_warmup: bool = False


FAMILIES = {
    "faster_rcnn": Family(
        "FasterRCNN",
        dict(voc="configs/distill/mmdet/nst/nst-fpn_frcnn-r50_frcnn-r18_1x_voc0712.py",
             coco="configs/distill/mmdet/nst/nst-fpn_frcnn-r101_frcnn-r18_1x_coco.py",
             demo="configs/distill/mmdet/nst/nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py"),
        {**_RPN_LIGHT, "train_cfg.rcnn.sampler.num": 128}),
    "retinanet": Family(
        "RetinaNet",
        dict(voc="configs/distill/mmdet/nst/nst-fpn_retina-r50_retina-r18_1x_voc0712.py",
             coco="configs/distill/mmdet/nst/nst-fpn_retina-r50_retina-r18_1x_coco.py",
             demo="configs/distill/mmdet/nst/nst-fpn_retina-r34_retina-r18_8e_demo.py")),
    "fcos": Family(
        "FCOS",
        dict(voc="configs/distill/mmdet/nst/nst-fpn_fcos-r50_fcos-r18_1x_voc0712.py",
             coco="configs/distill/mmdet/nst/nst-fpn_fcos-r50_fcos-r18_1x_coco.py",
             demo="configs/distill/mmdet/nst/nst-fpn_fcos-r34_fcos-r18_8e_demo.py"),
        clips=True, own_lr_warmup=True),
    "cascade_rcnn": Family(
        "CascadeRCNN",
        dict(voc="configs/distill/mmdet/nst/nst-fpn_cascade-r50_cascade-r18_1x_voc0712.py",
             coco="configs/distill/mmdet/nst/nst-fpn_cascade-r101_cascade-r18_1x_coco.py",
             demo="configs/distill/mmdet/nst/nst-fpn_cascade-r34_cascade-r18_8e_demo.py"),
        {**_RPN_LIGHT, **{f"train_cfg.rcnn.{stage}.sampler.num": 128 for stage in range(3)}}),
}
# the FitNet-style control: MSE between the student's and the teacher's features (a 1x1 adapter where the
# channel counts differ), as configs/distill/mmdet/mse/ configures it
LOSSES = {"nst": None, "mse": dict(type="MSELoss", loss_weight=1.0)}


@dataclass(frozen=True)
class Cell:
    """One setting: family, dataset (``voc``/``coco``: generated data in the real layouts; ``demo``), teacher
    (``random``: a stock-format checkpoint with random weights, the worst case; ``trained``: the demo's trained
    teacher detector), student backbone (``random``: a ResNet-18 in torchvision's format with random weights, as
    in the issue's run; ``trained``: the demo's NST ResNet-18), loss, weight, distillation warm-up, clipping
    (``None``: the config's own), LR warm-up (0: the config's own), and whether the lr is scaled from the config's
    ``auto_scale_lr.base_batch_size`` to the runs' batch of 2 (``False``: the config's lr, the worst case)."""

    stage: str
    family: str
    dataset: str
    teacher: str
    loss: str
    weight: float
    warmup: int = 0
    clip: Optional[float] = None
    lr_warmup: int = 0
    backbone: str = "random"
    scale_lr: bool = False

    def key(self) -> str:
        """What identifies the cell's runs (the stage that asked for it is not part of it; ``scale_lr`` only when
        on, so the runs recorded before it existed keep their keys)."""
        fields = {k: v for k, v in asdict(self).items() if k != "stage" and (k != "scale_lr" or v)}
        return json.dumps(fields, sort_keys=True)

    def baseline(self) -> "Cell":
        """The same run with the distillation weighted 0 (its teacher and loss do not matter then)."""
        return replace(self, teacher="random", loss="nst", weight=0.0, warmup=0)

    @property
    def settings(self) -> str:
        parts = [f"warm-up {self.warmup}" if self.warmup else "", f"clip {self.clip:g}" if self.clip else "",
                 f"LR warm-up {self.lr_warmup}" if self.lr_warmup else "",
                 "lr scaled to the batch" if self.scale_lr else ""]
        return ", ".join(p for p in parts if p) or "none"


@dataclass
class Inputs:
    """Files the runs use: data roots per dataset, student backbones (``random``, ``trained``), the teacher
    checkpoint of a (family, teacher config, ``random``/``trained``, seed) (made on demand by ``teacher``), and
    the sweep's size."""

    data: dict
    backbones: dict
    teacher: Callable[[str, str, str, int], str]
    work: Path
    seeds: int = 3
    iters: int = 20
    image_scale: tuple = (160, 120)


@dataclass
class Verdict:
    """A cell over its seeds: per seed the comparison with the baseline, detections, the guard's trigger, and
    whether the baseline itself stopped (non-finite: then the seed tells nothing about the distillation)."""

    cell: Cell
    comparisons: list[Comparison]
    detections: list[int]
    baseline_detections: list[int]
    errors: list[Optional[str]]
    guard: list[Optional[int]]
    seconds: float
    baseline_errors: list[Optional[str]] = field(default_factory=list)

    @property
    def judged(self) -> bool:
        """Whether every baseline ran through (else the cell has no verdict)."""
        return not any(self.baseline_errors)

    @property
    def bound(self) -> float:
        """The ratio this cell is judged by: :data:`BOUND`, or :data:`COLLAPSE` with a trained teacher."""
        return COLLAPSE if self.cell.teacher == "trained" else BOUND

    @property
    def stable(self) -> bool:
        return (bool(self.comparisons) and self.judged
                and all(is_stable(c, e, self.bound) for c, e in zip(self.comparisons, self.errors)))


BOUND = 1.5  # a stable run's detection loss stays within this factor of the baseline's (trailing 5-iteration medians)
# With a trained teacher the distillation moves the student's features on purpose, and its first iterations' detection
# losses run up to ~2x the baseline's at every weight down to 2 (the demo teacher: BENCHMARKS.md); those runs only
# have to stay clear of a collapse.
COLLAPSE = 3.0


def is_stable(comparison: Comparison, error: Optional[str], bound: float = BOUND) -> bool:
    """No error (non-finite loss) and the detection-loss ratio never above ``bound`` (from iteration 5 on).

    The detections kept after a run are reported, not judged: after 20 iterations a two-stage detector's
    scores rarely reach its 0.05 test threshold, with or without distillation (0-5 boxes on 8 images), and a
    single-stage one's are as many as it may keep, so the count does not tell a healthy run from a hurt one.
    """
    return error is None and comparison.peak <= bound


class Sweep:
    """Runs cells (with their baselines), remembering every run in ``<work>/runs.jsonl``."""

    def __init__(self, inputs: Inputs, log: Callable[[str], None] = print) -> None:
        self.inputs = inputs
        self.log = log
        self.path = inputs.work / "runs.jsonl"
        self.done: dict[tuple[str, int], dict] = {}
        if self.path.is_file():
            for line in self.path.read_text().splitlines():
                record = json.loads(line)
                self.done[(record["key"], record["seed"])] = record

    def short_run(self, cell: Cell, seed: int) -> ShortRun:
        family = FAMILIES[cell.family]
        config = family.configs[cell.dataset]
        from mmengine.config import Config

        teacher_config = Config.fromfile(config).teacher_config
        distill: dict = {"loss_weight": cell.weight, "warmup_iters": cell.warmup}
        if LOSSES[cell.loss] is not None:
            distill.update(loss=LOSSES[cell.loss], adapt_channels=True)
        light = {} if cell.dataset == "demo" else {f"model.student.{k}": v for k, v in family.light.items()}
        return ShortRun(
            config=config, work_dir=str(self.inputs.work / "runs" / f"{len(self.done):05d}"),
            variables=dict(data_root=self.inputs.data[cell.dataset],
                           backbone_checkpoint=self.inputs.backbones[cell.backbone],
                           teacher_checkpoint=self.inputs.teacher(cell.family, teacher_config, cell.teacher, seed)),
            iters=self.inputs.iters, seed=seed, image_scale=tuple(self.inputs.image_scale), distill=distill,
            lr_warmup_iters=cell.lr_warmup or None, clip_grad=cell.clip, drop_hooks=("DistillDivergenceHook",),
            scale_lr=cell.scale_lr, options=light)

    def result(self, cell: Cell, seed: int) -> dict:
        """The run of ``cell`` with ``seed``, from ``runs.jsonl`` or trained now."""
        key = (cell.key(), seed)
        if key not in self.done:
            result: ShortRunResult = train_short(self.short_run(cell, seed))
            record = dict(key=cell.key(), seed=seed, cell=asdict(cell), **result.to_dict())
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")
            self.done[key] = record
            self.log(f"  {cell.family} {cell.dataset} {cell.teacher} {cell.loss} weight {cell.weight:g} "
                     f"({cell.settings}) seed {seed}: {result.error or f'{result.detections} detections'}, "
                     f"{result.seconds:.0f}s")
        return self.done[key]

    def verdict(self, cell: Cell, stop_early: bool = True) -> Verdict:
        """Run ``cell`` over the seeds (after each seed's baseline); with ``stop_early``, the seeds after the
        first unstable one are skipped (one unstable seed makes the cell unstable)."""
        prefix = distill_prefix(cell.loss)
        out = Verdict(cell, [], [], [], [], [], 0.0)
        for seed in range(self.inputs.seeds):
            base = self.result(cell.baseline(), seed)
            run = base if cell.weight == 0 else self.result(cell, seed)
            comparison = compare([detection_loss(r, prefix) for r in run["losses"]],
                                 [detection_loss(r, prefix) for r in base["losses"]])
            found = first_divergence(run["losses"], prefix, warmup_iters=cell.warmup) if cell.weight else None
            out.comparisons.append(comparison)
            out.detections.append(run["detections"])
            out.baseline_detections.append(base["detections"])
            out.errors.append(run["error"])
            out.baseline_errors.append(base["error"])
            out.guard.append(found.iteration if found else None)
            out.seconds += run["seconds"]
            if stop_early and (base["error"] or not is_stable(comparison, run["error"], out.bound)):
                break
        return out

    def records(self) -> list[dict]:
        """Every run so far (for the json report)."""
        return list(self.done.values())

    def judged_runs(self) -> list[tuple[dict, bool]]:
        """Every distillation run so far with whether it was stable against its baseline (one seed)."""
        out = []
        for record in self.done.values():
            run = Cell(**record["cell"])
            base = self.done.get((run.baseline().key(), record["seed"]))
            if run.weight == 0 or base is None or base["error"]:
                continue  # no baseline to judge against
            prefix = distill_prefix(run.loss)
            comparison = compare([detection_loss(r, prefix) for r in record["losses"]],
                                 [detection_loss(r, prefix) for r in base["losses"]])
            bound = COLLAPSE if run.teacher == "trained" else BOUND
            out.append((record, is_stable(comparison, record["error"], bound)))
        return out


def guard_calibration(runs: list[tuple[dict, bool]], rules: list[DivergenceRule]) -> list[dict]:
    """How each rule does on the sweep's runs: stable runs it would stop, unstable ones it stops, and when."""
    out = []
    for rule in rules:
        row = dict(factor=rule.factor, share=rule.share, growth=rule.growth, stable=0, unstable=0, false_alarms=0,
                   caught=0, iterations=[])
        for record, stable in runs:
            cell = record["cell"]
            found = first_divergence(record["losses"], distill_prefix(cell["loss"]), rule, cell["warmup"])
            row["stable" if stable else "unstable"] += 1
            if found is not None:
                row["false_alarms" if stable else "caught"] += 1
                row["iterations"].append(found.iteration)
        out.append(row)
    return out
