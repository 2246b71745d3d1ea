"""Hooks that guard a training run (both stages): a full work dir before it starts, a diverged loss during it."""
from __future__ import annotations

import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper, OptimWrapperDict

from nst_det.registry import HOOKS
from nst_det.utils.checkpoint import check_free_space, checkpoint_bytes, last_complete_checkpoint
from nst_det.utils.errors import NSTDetError
from nst_det.utils.weights import unwrap_model


def is_training_run(runner) -> bool:
    """Whether ``runner`` is in ``train()`` (its optimizer is built), not ``val()``/``test()``."""
    return isinstance(runner.optim_wrapper, (OptimWrapper, OptimWrapperDict))


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
                kept = last_complete_checkpoint(runner.work_dir)
                raise NSTDetError(f"{name} is {number} at iteration {runner.iter + 1} (epoch {runner.epoch + 1}); "
                                  f"training stopped. Last good checkpoint: {kept}")


@HOOKS.register_module()
class FreeSpaceHook(Hook):
    """Refuse to start training in a work dir that cannot hold one more checkpoint.

    Runs once the model and optimizer exist (``before_run``), before any weights are loaded or an
    iteration is trained. Needed: the model's ``state_dict`` plus the optimizer's state (see
    :func:`~nst_det.utils.checkpoint.checkpoint_bytes`), times ``margin``, plus ``reserve_mib``
    for logs and exports. A checkpoint is written beside the previous one before old ones are
    deleted, so one checkpoint's worth must be free whatever ``max_keep_ckpts`` is.

    Args:
        margin: factor on the estimated checkpoint size.
        reserve_mib: extra room for logs, visualisations and backbone exports.
    """

    priority = "VERY_HIGH"

    def __init__(self, margin: float = 1.1, reserve_mib: int = 32) -> None:
        self.margin = margin
        self.reserve_mib = reserve_mib

    def before_run(self, runner) -> None:
        if not is_training_run(runner):
            return  # tools/test_det.py: no checkpoints are written
        wrapper = runner.optim_wrapper
        wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) else [wrapper]
        optimizers = [w.optimizer for w in wrappers]
        model = unwrap_model(runner.model)
        weights, state = checkpoint_bytes(model, optimizers)
        needed = int((weights + state) * self.margin) + self.reserve_mib * 2**20
        check_free_space(runner.work_dir, needed, what=f"one checkpoint of this run (weights {weights / 2**20:.0f} MiB"
                                                       f" + optimizer state {state / 2**20:.0f} MiB) and logs")
