"""The words both distillers speak (``ClassifierDistiller``, ``NSTDistillDetector``), and their defaults.

    model = dict(
        type='ClassifierDistiller' | 'NSTDistillDetector',
        student=...,
        teacher=dict(arch='resnet101', num_classes=1000, checkpoint=PATH)   # ImageNet stage
        teacher=dict(config='mmdet::...py', checkpoint=PATH_OR_WORK_DIR),   # detection stage
        distill=dict(
            taps=[('layer4.1.relu:input', 'layer4.2.relu:input')],  # module pairs; detection: ('p2', ..., 'p5')
            loss=dict(type='NSTLoss'),        # the feature loss(es): one config or a list (AT+NST)
            level_weights=None,               # one weight per tap pair: a list, {name: weight}, or None (all 1)
            adapt_channels=False,             # 1x1 adapters where a loss compares channels and widths differ
            warmup_iters=0,                   # ramp the distillation terms in
            ...))                             # the stage's own keys (STAGE_DEFAULTS)

Every default is written once, in :data:`DEFAULTS` and :data:`STAGE_DEFAULTS`; the loss's own defaults are
its class's (``dict(type='NSTLoss')`` is the released code's NST term: poly d=2, c=0, weight 50).

``loss``: omitted means :data:`DEFAULT_LOSS`; ``None`` means *no feature loss*, in both stages. Taps with
no feature loss are an error (:class:`~nst_det.distill.core.DistillCore`): the ImageNet stage's KD-only
configs set ``taps=[], loss=None``; the detection stage always distils its levels, so there ``None`` is an
error too, never a silent NST.

Names the distillers used before this vocabulary are refused with one line naming the new one.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping, Optional

from nst_det.utils.errors import NSTDetError

DEFAULT_LOSS = dict(type="NSTLoss")  # NSTLoss's defaults are the official setting (nst_det/losses/nst.py)
DEFAULTS: dict[str, Any] = dict(taps=None, loss=DEFAULT_LOSS, level_weights=None, adapt_channels=False,
                                warmup_iters=0)
# the stages' own keys and their defaults
STAGE_DEFAULTS: dict[str, dict[str, Any]] = {
    "ClassifierDistiller": dict(kd_loss=None),           # KD on the logits
    "NSTDistillDetector": dict(student_module="neck",    # the modules whose output tuples are the levels
                               teacher_module="neck"),
}


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


def distill_settings(owner: str, distill: Optional[Mapping[str, Any]],
                     renamed: Optional[Mapping[str, str]] = None) -> dict:
    """Check a ``distill=dict(...)`` block and fill in the defaults.

    Args:
        owner: the distiller's class name (a key of :data:`STAGE_DEFAULTS`), for its keys and messages.
        distill: the block as configured (``None``: all defaults).
        renamed: former key -> its new name; a former key is refused with one line.

    Returns:
        Every key of :data:`DEFAULTS` and the stage's :data:`STAGE_DEFAULTS`, configured or default (a copy).
    """
    settings = dict(distill or {})
    for old, new in (renamed or {}).items():
        if old in settings:
            raise NSTDetError(f"{owner}: `distill.{old}` is now `distill.{new}` (the vocabulary both distillers "
                              "share); rename it in the config")
    defaults = {**DEFAULTS, **STAGE_DEFAULTS[owner]}
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise NSTDetError(f"{owner}: unknown distill settings {unknown}; known: {sorted(defaults)}")
    warmup = settings.get("warmup_iters", 0)
    if not isinstance(warmup, int) or isinstance(warmup, bool) or warmup < 0:
        raise NSTDetError(f"{owner}: distill.warmup_iters must be an integer >= 0, got {warmup!r}")
    return {key: copy.deepcopy(settings.get(key, default)) for key, default in defaults.items()}


def warmup_factor(warmup_iters: int, step: int) -> float:
    """The warm-up rule of both stages: ``min(1, (step + 1) / warmup_iters)``; 1 without warm-up.

    ``step`` is the runner's iteration (the distillation core passes it, or its own call count outside a runner).
    """
    return min(1.0, (step + 1) / warmup_iters) if warmup_iters else 1.0
