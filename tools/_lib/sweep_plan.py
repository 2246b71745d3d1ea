"""The sweep's stages and how it chooses (``tools/sweep_distill.py``; cells and verdicts: :mod:`.sweep`).

1. ``weights``: the weights of :data:`WEIGHTS`, from the largest down to the first stable one, at the worst
   case a user meets today: the VOC configs as shipped before this sweep (their own LR warm-up: none, lr 0.01
   from iteration 1, but FCOS's lr/3; no distillation warm-up; their own clipping: FCOS's), a random teacher and
   a random student backbone, generated data in the real VOC layout.
2. ``stabilisers``: for the weights above the largest stable one (the next one and the largest), a
   distillation warm-up, gradient clipping, both, and (only where those fail) both plus an LR warm-up.
3. ``confirm``: the candidates of stages 1-2 (stable on VOC for every family), largest weight first, on every
   dataset: the demo data (demo configs), VOC and COCO layouts (the COCO configs' R-101/R-50 teachers), with
   random teachers and, where the demo trained one, the trained teacher, until one is stable everywhere it can
   be judged. COCO and demo configs ship an LR warm-up, so their runs have one (compressed as the stabilisers'
   are; FCOS keeps its own). COCO runs scale the lr to their batch of 2 (``--auto-scale-lr``): at the COCO
   configs' lr 0.02 for 16 images the *undistilled* two-stage detectors went NaN, so nothing could be judged.

The choice (:func:`choose`): the largest NST weight that is stable for every family with the fewest stabilisers
(in the order of :data:`SETTINGS`); a setting stable at a larger weight, or with fewer stabilisers, counts as
stable. The MSE control gets the largest weight stable with the same stabilisers (its configs inherit the NST
configs' schedule, so the A/B differs in the loss and its weight alone).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Optional

from _lib.sweep import FAMILIES, Cell, Sweep, Verdict

WEIGHTS = {"nst": (1.0, 2.0, 5.0, 10.0, 25.0, 50.0), "mse": (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)}
CLIP = 35.0  # mmdet's max_norm wherever its configs clip (FCOS, the demo schedule)


@dataclass(frozen=True)
class Setting:
    """Stabilisers: distillation warm-up, gradient clipping (:data:`CLIP`), LR warm-up (lengths: see :func:`cell`)."""

    warmup: bool = False
    clip: bool = False
    lr_warmup: bool = False

    @property
    def name(self) -> str:
        parts = [name for name, on in (("warm-up", self.warmup), ("clip", self.clip), ("LR warm-up", self.lr_warmup))
                 if on]
        return " + ".join(parts) or "none"


# in the order the choice prefers them (fewest first)
SETTINGS = (Setting(), Setting(warmup=True), Setting(clip=True), Setting(warmup=True, clip=True),
            Setting(warmup=True, clip=True, lr_warmup=True))


@dataclass(frozen=True)
class Choice:
    """What the sweep chose for one loss: weight and stabilisers (``None`` when nothing was stable)."""

    loss: str
    weight: Optional[float]
    setting: Setting


def canonical(setting: Setting, family: str, dataset: str = "voc") -> Setting:
    """``setting`` as it acts on ``family``'s config for ``dataset``: where the config clips already (FCOS, every
    demo config) or has an LR warm-up of its own (FCOS), adding one changes nothing (or, for the warm-up, would
    replace FCOS's own by a steeper one)."""
    spec = FAMILIES[family]
    return replace(setting, clip=setting.clip and not (spec.clips or dataset == "demo"),
                   lr_warmup=setting.lr_warmup and not spec.own_lr_warmup)


def cell(stage: str, family: str, dataset: str, teacher: str, loss: str, weight: float, setting: Setting,
         iters: int, lr_warmup: bool = False, scale_lr: bool = False) -> Cell:
    """The :class:`Cell` of a setting: warm-ups of half the run (so half of it is at the full weight); a trained
    teacher comes with the trained student backbone (the demo's), a random one with a random backbone."""
    setting = canonical(replace(setting, lr_warmup=setting.lr_warmup or lr_warmup), family, dataset)
    return Cell(stage, family, dataset, teacher, loss, weight, warmup=iters // 2 if setting.warmup else 0,
                clip=CLIP if setting.clip else None, lr_warmup=iters // 2 if setting.lr_warmup else 0,
                backbone=teacher, scale_lr=scale_lr)


def stage_weights(sweep: Sweep, families: Iterable[str], losses: dict[str, Iterable[str]]) -> list[Verdict]:
    """Stage 1 (see the module docstring); ``losses[family]``: the losses to sweep for it. Weights run from the
    largest down and stop at the first one stable on every seed: a smaller weight only scales the
    distillation gradient down, so it is counted stable without a run."""
    out = []
    for family in families:
        for loss in losses[family]:
            for weight in sorted(WEIGHTS[loss], reverse=True):
                out.append(sweep.verdict(cell("weights", family, "voc", "random", loss, weight, SETTINGS[0],
                                              sweep.inputs.iters)))
                if out[-1].stable:
                    break
    return out


def _largest_stable(verdicts: list[Verdict]) -> float:
    stable = [v.cell.weight for v in verdicts if v.stable]
    return max(stable, default=0.0)


def stage_stabilisers(sweep: Sweep, weights: list[Verdict]) -> list[Verdict]:
    """Stage 2 for every (family, loss) of stage 1."""
    out = []
    groups: dict[tuple[str, str], list[Verdict]] = {}
    for verdict in weights:
        groups.setdefault((verdict.cell.family, verdict.cell.loss), []).append(verdict)
    for (family, loss), verdicts in groups.items():
        above = [w for w in WEIGHTS[loss] if w > _largest_stable(verdicts)]
        for weight in sorted({above[0], above[-1]}) if above else []:
            found = False
            for setting in [s for s in SETTINGS[1:-1] if canonical(s, family) == s]:
                verdict = sweep.verdict(cell("stabilisers", family, "voc", "random", loss, weight, setting,
                                             sweep.inputs.iters))
                out.append(verdict)
                found = found or verdict.stable
            if not found:
                out.append(sweep.verdict(cell("stabilisers", family, "voc", "random", loss, weight, SETTINGS[-1],
                                              sweep.inputs.iters)))
    return out


def setting_of(run: Cell) -> Setting:
    """The stabilisers of a cell."""
    return Setting(warmup=bool(run.warmup), clip=run.clip is not None, lr_warmup=bool(run.lr_warmup))


def within(inner: Setting, outer: Setting) -> bool:
    """Whether every stabiliser of ``inner`` is one of ``outer``'s."""
    return all(b or not a for a, b in ((inner.warmup, outer.warmup), (inner.clip, outer.clip),
                                        (inner.lr_warmup, outer.lr_warmup)))


def candidates(verdicts: list[Verdict], loss: str, families: Iterable[str],
               settings: Iterable[Setting] = SETTINGS) -> list[Choice]:
    """Every (weight, setting) stable on the VOC layout for every family, largest weight first, then in the order
    of ``settings``.

    A weight counts as stable with a setting where a larger or equal weight was stable with some of its
    stabilisers (a smaller weight, or one more stabiliser, is assumed not to hurt; stage 3 checks the choice).
    """
    families, settings = list(families), list(settings)
    stable: list[tuple[str, float, Setting]] = [
        (v.cell.family, v.cell.weight, setting_of(v.cell)) for v in verdicts
        if v.stable and v.cell.loss == loss and v.cell.dataset == "voc" and v.cell.teacher == "random"]

    def ok(family: str, weight: float, setting: Setting) -> bool:
        return any(f == family and w >= weight and within(s, canonical(setting, family)) for f, w, s in stable)

    return [Choice(loss, weight, setting) for weight in sorted(WEIGHTS[loss], reverse=True) for setting in settings
            if all(ok(family, weight, setting) for family in families)]


def choose(verdicts: list[Verdict], loss: str, families: Iterable[str],
           settings: Iterable[Setting] = SETTINGS) -> Choice:
    """The first of :func:`candidates` (before stage 3 confirms it), or a weightless choice."""
    found = candidates(verdicts, loss, families, settings)
    return found[0] if found else Choice(loss, None, SETTINGS[0])


CONFIRM_ORDER = ("demo", "voc", "coco")  # the cheapest runs, and where the VOC-chosen settings failed, first


def confirm_cells(choice: Choice, families: Iterable[str], trained: Iterable[str], iters: int,
                  datasets: Iterable[str] = CONFIRM_ORDER) -> list[Cell]:
    """``choice`` on each of ``datasets`` (in that order) for every family with a random teacher, and on the demo
    data with the trained teacher for the families in ``trained``; COCO and demo runs with an LR warm-up (their
    configs have one), COCO runs with the lr scaled to the batch."""
    return [cell("confirm", family, dataset, teacher, choice.loss, choice.weight, choice.setting, iters,
                 lr_warmup=dataset != "voc", scale_lr=dataset == "coco")
            for dataset in datasets for family in families
            for teacher in ["random"] + (["trained"] if dataset == "demo" and family in trained else [])]


def stage_confirm(sweep: Sweep, choices: list[Choice], families: Iterable[str], trained: Iterable[str] = (),
                  datasets: Iterable[str] = CONFIRM_ORDER) -> tuple[Optional[Choice], list[Verdict]]:
    """Stage 3: the first of ``choices`` (:func:`candidates`) stable on each of ``datasets`` where it can be
    judged (a cell whose baseline went NaN has no verdict), and the verdicts of every candidate tried (a candidate
    stops at its first unstable cell)."""
    out: list[Verdict] = []
    families, datasets = list(families), list(datasets)
    for choice in choices:
        failed = False
        for run in confirm_cells(choice, families, trained, sweep.inputs.iters, datasets):
            out.append(sweep.verdict(run))
            if out[-1].judged and not out[-1].stable:
                failed = True
                break
        if not failed:
            return choice, out
    return None, out
