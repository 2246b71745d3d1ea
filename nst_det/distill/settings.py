"""The words both distillers speak (``ClassifierDistiller``, ``NSTDistillDetector``).

    model = dict(
        type='ClassifierDistiller' | 'NSTDistillDetector',
        student=...,
        teacher=dict(arch='resnet101', num_classes=1000, checkpoint=PATH)   # ImageNet stage
        teacher=dict(config='mmdet::...py', checkpoint=PATH_OR_WORK_DIR),   # detection stage
        distill=dict(
            taps=[('layer4.1.relu:input', 'layer4.2.relu:input')],  # module pairs; detection: ('p2', ..., 'p5')
            loss=dict(type='NSTLoss', kernel='poly', loss_weight=50.0),  # the default (DEFAULT_LOSS)
            warmup_iters=0,                                              # ramp the distillation terms in
            ...))                                                        # stage-specific keys

Names the distillers used before this vocabulary are refused with one line naming the new one.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping, Optional

from mmengine.logging import MessageHub

from nst_det.utils.errors import NSTDetError

# The NST term both stages use unless a config says otherwise: loss_weight · MMD², poly d=2, c=0, weight 50
# (the released code's kt_weight; nst_det/losses/nst.py).
DEFAULT_LOSS = dict(type="NSTLoss", kernel="poly", degree=2, constant=0.0, loss_weight=50.0)
COMMON_KEYS = ("taps", "loss", "warmup_iters")


def default_loss() -> dict:
    """A copy of :data:`DEFAULT_LOSS`."""
    return copy.deepcopy(DEFAULT_LOSS)


def refuse_renamed(owner: str, given: Mapping[str, Any], renamed: Mapping[str, str]) -> None:
    """Raise one line for the first argument of ``given`` that ``renamed`` maps to its new name.

    Args:
        owner: what is configured, for the message (``"NSTDistillDetector"``, ``"model.distill"``).
        given: the arguments as passed.
        renamed: old name -> new name (``{'teacher_ckpt': 'teacher.checkpoint'}``).
    """
    for old, new in renamed.items():
        if old in given:
            raise NSTDetError(f"{owner}: `{old}` is now `{new}` (the vocabulary both distillers share); "
                              f"rename it in the config")
    unknown = sorted(set(given) - set(renamed))
    if unknown:
        raise NSTDetError(f"{owner}: unknown argument(s) {unknown}")


def distill_settings(owner: str, distill: Optional[Mapping[str, Any]], extra_keys: tuple[str, ...] = (),
                     renamed: Optional[Mapping[str, str]] = None) -> dict:
    """Check a ``distill=dict(...)`` block and fill in the shared defaults.

    Args:
        owner: the distiller's name, for messages.
        distill: the block as configured (``None``: all defaults).
        extra_keys: the stage's own keys besides :data:`COMMON_KEYS`.
        renamed: former key -> its new name; a former key is refused with one line.

    Returns:
        The settings with ``taps`` (default ``None``), ``loss`` (default :data:`DEFAULT_LOSS`; an
        explicit ``None`` stays ``None``) and ``warmup_iters`` (default 0).
    """
    settings = dict(distill or {})
    for old, new in (renamed or {}).items():
        if old in settings:
            raise NSTDetError(f"{owner}: `distill.{old}` is now `distill.{new}` (the vocabulary both distillers "
                              "share); rename it in the config")
    unknown = sorted(set(settings) - set(COMMON_KEYS) - set(extra_keys))
    if unknown:
        raise NSTDetError(f"{owner}: unknown distill settings {unknown}; known: {sorted(COMMON_KEYS + extra_keys)}")
    settings.setdefault("taps", None)
    if "loss" not in settings:
        settings["loss"] = default_loss()
    warmup = settings.setdefault("warmup_iters", 0)
    if not isinstance(warmup, int) or isinstance(warmup, bool) or warmup < 0:
        raise NSTDetError(f"{owner}: distill.warmup_iters must be an integer >= 0, got {warmup!r}")
    return settings


def warmup_factor(warmup_iters: int, calls: int) -> float:
    """``min(1, (iter + 1) / warmup_iters)``; 1 without warm-up.

    ``iter`` is the runner's (mmengine's message hub: resume-safe) when training under a Runner,
    else ``calls``, the number of loss computations so far.
    """
    if not warmup_iters:
        return 1.0
    step = MessageHub.get_current_instance().get_info("iter")
    step = calls if step is None else int(step)
    return min(1.0, (step + 1) / warmup_iters)
