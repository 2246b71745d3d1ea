"""Hooks that guard a training run: a full work dir before it starts, a diverged loss during it (both stages),
and a detector that its FPN distillation is collapsing (detection stage)."""
from __future__ import annotations

import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper, OptimWrapperDict

from nst_det.det.stability import Divergence, DivergenceMonitor, DivergenceRule, distill_prefix
from nst_det.distill import warmup_factor
from nst_det.distill.core import CORE_ATTRIBUTE
from nst_det.distill.names import loss_key
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
class DistillDivergenceHook(Hook):
    """Stop an FPN-distillation run whose detection losses explode while its distillation terms grow.

    A distillation term that is too strong for a young detector (a large weight from iteration 1, no warm-up,
    or a teacher that failed to train or to load) can wreck it within a few iterations: ``loss_cls`` 3.6 ->
    11.9 and no detections after the first epoch. This hook watches the first ``warmup_iters + check_iters``
    iterations of a ``model.type='NSTDistillDetector'`` run with :class:`~nst_det.det.stability.DivergenceRule`
    (thresholds from the sweep, ``tools/sweep_distill.py``) and stops the run with one line naming the term,
    its weight and the setting to lower. It reads the built distillation core (its loss kinds and weights, pair
    weights, ``warmup_iters``); other models are not watched. Runs before the checkpoint hook, and
    before :class:`NonFiniteLossHook`, which stops a run at a non-finite loss this rule does not explain.

    Args:
        factor, growth, share, window: the rule's thresholds (:class:`~nst_det.det.stability.DivergenceRule`).
        check_iters: iterations watched after the distillation warm-up.
    """

    priority = "HIGH"  # before NonFiniteLossHook: at a non-finite loss the rule may name the distillation term

    def __init__(self, factor: float = DivergenceRule.factor, growth: float = DivergenceRule.growth,
                 share: float = DivergenceRule.share, window: int = DivergenceRule.window,
                 check_iters: int = 500) -> None:
        self.rule = DivergenceRule(factor=factor, growth=growth, share=share, window=window)
        self.check_iters = check_iters
        self.monitor: Optional[DivergenceMonitor] = None

    def before_train(self, runner) -> None:
        core = getattr(unwrap_model(runner.model), CORE_ATTRIBUTE, None)
        self.monitor = None
        if core is None or not core.losses or type(unwrap_model(runner.model)).__name__ != "NSTDistillDetector":
            return
        # each logged term's weight: the loss's loss_weight times its pair's weight (what the core multiplies)
        self.weights = {loss_key(kind, pair.name): (float(getattr(loss, "loss_weight", 1.0)), pair.weight)
                        for kind, loss in zip(core.kinds, core.losses) for pair in core.pairs}
        self.warmup_iters = core.warmup_iters
        self.monitor = DivergenceMonitor(self.rule, tuple(distill_prefix(kind) for kind in core.kinds))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        if self.monitor is None or runner.iter >= self.warmup_iters + self.check_iters:
            return
        record = {k: float(v.detach() if hasattr(v, "detach") else v) for k, v in (outputs or {}).items()}
        found = self.monitor.update(record, warmup_factor(self.warmup_iters, runner.iter))
        if found is not None:
            raise NSTDetError(self.message(found))

    def message(self, found: Divergence) -> str:
        """The one line: the term, its weight, what happened, the setting to lower."""
        loss_weight, level = self.weights.get(found.term, (1.0, 1.0))
        weight = f"weight {loss_weight * level:g}" + (f" = loss_weight {loss_weight:g} x level weight {level:g}"
                                                      if level != 1 else "")
        lower = "model.distill.loss.loss_weight" + (" or model.distill.level_weights" if level != 1 else "")
        rose = (f"rose from {found.detection_start:.3g} to {found.detection_now:.3g} "
                f"({found.detection_now / found.detection_start:.1f}x)" if math.isfinite(found.detection_now)
                else f"became {found.detection_now}")
        return (f"{found.term} ({weight}) grew from {found.term_start:.3g} to {found.term_now:.3g} while the "
                f"detection losses {rose} by iteration {found.iteration}: the distillation is collapsing the "
                f"detector (a teacher that failed to train or load does this too); training stopped. Lower {lower} "
                f"(now {loss_weight:g}), or lengthen model.distill.warmup_iters (now {self.warmup_iters}); if the "
                f"detector also diverges without distillation, lower the lr (--auto-scale-lr on another total batch)")


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
