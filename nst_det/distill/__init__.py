"""What both distillers share: the config vocabulary, the frozen teacher, and the one distillation core.

:mod:`.core` (``DistillCore``, imported from there: it builds losses from mmdet's registry) owns the tap
pairs, weights, adapters, losses, loss names and warm-up; :mod:`.settings` the ``distill=dict(...)`` keys and
their defaults; :mod:`.names` the loss names and method labels; :mod:`.teacher` the frozen teacher.
"""
from .names import KIND_LABELS, logged_kinds, loss_key, loss_kind, method_label
from .settings import DEFAULT_LOSS, DEFAULTS, STAGE_DEFAULTS, distill_settings, refuse_renamed, warmup_factor
from .teacher import FrozenTeacherMixin, freeze

__all__ = ["FrozenTeacherMixin", "freeze", "DEFAULT_LOSS", "DEFAULTS", "STAGE_DEFAULTS", "distill_settings",
           "refuse_renamed", "warmup_factor", "KIND_LABELS", "logged_kinds", "loss_key", "loss_kind", "method_label"]
