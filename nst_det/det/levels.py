"""Feature-pyramid levels of a detector: measured strides, ``pN`` names, and config resolution.

A level's stride is measured, not read from configs: one probe forward of a zero image through
``extract_feat`` in eval mode (BatchNorm statistics untouched) gives each tapped level's size, and
``stride = probe size / level width``. A level of stride ``2**k`` is named ``pk`` (FPN's P2..P6 for
strides 4..64), so ``levels=('p3', 'p4')`` means the same thing for any detector.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch
from torch import nn

from nst_det.distill.core import pair_weights
from nst_det.taps import FeatureTaps
from nst_det.utils.errors import NSTDetError

PROBE_SIZE = 128  # a multiple of every common stride, up to 128 (RetinaNet's P7: 1x1)


@dataclass(frozen=True)
class Level:
    """One pyramid level: its name (``'p3'``), index in the tapped tuple, stride in pixels, channels."""

    name: str
    index: int
    stride: int
    channels: int


def level_name(index: int, stride: int) -> str:
    """``'p<k>'`` for a stride of ``2**k``, else ``'level<index>'`` (also for a repeated stride)."""
    k = math.log2(stride)
    return f"p{int(k)}" if stride > 0 and k.is_integer() else f"level{index}"


@torch.no_grad()
def measure_levels(detector: nn.Module, tap: str = "neck", size: int = PROBE_SIZE) -> list[Level]:
    """The levels ``detector.<tap>`` outputs during ``detector.extract_feat``.

    Args:
        detector: an mmdet detector (anything with ``extract_feat(images)``).
        tap: dotted name of the module whose output tuple holds the levels (FPN: ``'neck'``).
        size: side of the square zero probe image.

    Returns:
        One :class:`Level` per tensor of the tap's output, in output order.
    """
    param = next(detector.parameters(), None)
    images = torch.zeros(1, 3, size, size, device=param.device if param is not None else None)
    was_training = detector.training
    detector.eval()
    try:
        with FeatureTaps(detector, [tap], detach=True, keep_tuple=True) as taps:
            detector.extract_feat(images)
            features = taps[tap]
    finally:
        detector.train(was_training)
    levels: list[Level] = []
    for i, feature in enumerate(features):
        stride = round(size / feature.shape[-1])
        name = level_name(i, stride)
        if any(lv.name == name for lv in levels):  # a repeated stride (dilated stage): name by index
            name = f"level{i}"
        levels.append(Level(name, i, stride, feature.shape[1]))
    return levels


def describe(levels: Sequence[Level]) -> str:
    return f"{len(levels)} levels " + ", ".join(f"{lv.name} (stride {lv.stride})" for lv in levels)


def check_same_levels(student: Sequence[Level], teacher: Sequence[Level], tap: str) -> None:
    """Distillation pairs the student's level i with the teacher's level i: both pyramids must be equal."""
    if [lv.stride for lv in student] != [lv.stride for lv in teacher]:
        raise NSTDetError(
            f"teacher and student feature pyramids differ at '{tap}': student has {describe(student)}; "
            f"teacher has {describe(teacher)}. Make them match (neck.num_outs, neck.start_level, "
            f"backbone.out_indices) or distill fewer levels")


def select_levels(available: Sequence[Level], levels: Optional[Sequence[Union[str, int]]],
                  weights: Union[None, Sequence[float], dict] = None) -> list[tuple[Level, float]]:
    """Resolve the configured ``levels`` (names like ``'p3'`` or indices; ``None`` = all) and weights.

    Args:
        available: the measured levels.
        levels: level names or indices.
        weights: ``None`` (all 1), one weight per selected level, or ``{name: weight}`` (missing = 1).

    Returns:
        ``(level, weight)`` pairs in the configured order.
    """
    by_name = {lv.name: lv for lv in available}
    chosen: list[Level] = []
    for spec in (list(levels) if levels is not None else [lv.name for lv in available]):
        if isinstance(spec, int) and not isinstance(spec, bool) and -len(available) <= spec < len(available):
            chosen.append(available[spec])
        elif isinstance(spec, str) and spec in by_name:
            chosen.append(by_name[spec])
        else:
            raise NSTDetError(f"distillation level {spec!r} does not exist; the pyramid has {describe(available)}")
    names = [lv.name for lv in chosen]
    if len(set(names)) != len(names) or not chosen:
        raise NSTDetError(f"distillation levels must be distinct and non-empty, got {names}")
    return list(zip(chosen, pair_weights(names, weights, "NSTDistillDetector")))
