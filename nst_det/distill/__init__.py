"""What both distillers share: the config vocabulary and the frozen teacher."""
from .settings import COMMON_KEYS, DEFAULT_LOSS, default_loss, distill_settings, refuse_renamed, warmup_factor

__all__ = ["COMMON_KEYS", "DEFAULT_LOSS", "default_loss", "distill_settings", "refuse_renamed", "warmup_factor"]
