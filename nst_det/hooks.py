"""Training hooks shared by both stages."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

from mmengine.hooks import Hook

from nst_det.registry import HOOKS
from nst_det.utils.errors import NSTDetError


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training at the first NaN/Inf loss term, naming the iteration and the term.

    Runs before the checkpoint hook, so no checkpoint of the diverged model is written: the last
    checkpoint on disk (named in the message) is the last good one.
    """

    priority = "ABOVE_NORMAL"

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        for name, value in (outputs or {}).items():
            number = float(value.detach() if hasattr(value, "detach") else value)
            if not math.isfinite(number):
                last = Path(runner.work_dir) / "last_checkpoint"
                kept = last.read_text().strip() if last.is_file() else "none written yet"
                raise NSTDetError(f"{name} is {number} at iteration {runner.iter + 1} (epoch {runner.epoch + 1}); "
                                  f"training stopped. Last good checkpoint: {kept}")
