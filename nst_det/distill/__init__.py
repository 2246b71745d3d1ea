"""What both distillers share: the config vocabulary and the frozen teacher."""
from .settings import COMMON_KEYS, DEFAULT_LOSS, default_loss, distill_settings, refuse_renamed, warmup_factor
from .teacher import FrozenTeacherMixin, freeze

__all__ = ["FrozenTeacherMixin", "freeze", "COMMON_KEYS", "DEFAULT_LOSS", "default_loss", "distill_settings",
           "refuse_renamed", "warmup_factor"]
