"""The distillation core's state beside the student, in both stages: its record in the work dir, its parameters
beside (not in) the student's checkpoint ``state_dict``."""
from __future__ import annotations

import json
from pathlib import Path

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from nst_det.distill.core import CORE_ATTRIBUTE
from nst_det.registry import HOOKS
from nst_det.sidecar import DISTILL_FILE, run_setup
from nst_det.utils.checkpoint import atomic_write_bytes
from nst_det.utils.weights import unwrap_model


@HOOKS.register_module()
class DistillStateHook(Hook):
    """Keep the distillation core (``ClassifierDistiller``/``NSTDistillDetector``.``distill_core``) beside the student.

    * **Iteration**: before every training iteration the core is told the runner's iteration
      (:attr:`~nst_det.distill.core.DistillCore.iteration`: its warm-up follows the run, resumed runs included).

    * **Record**: before training, ``<work_dir>/distill.json`` gets the core's record (losses, weights, taps,
      adapters) and the two networks' names (:mod:`nst_det.sidecar`): what ``tools/compare_runs.py`` reports,
      for detection runs too.
    * **Checkpoints**: the core's parameters (channel adapters, FitNet's regressors) are trained with the student
      but are no part of it. Saving moves every ``distill_core.*`` key to ``checkpoint['distill_state_dict']``,
      so ``checkpoint['state_dict']`` is exactly the plain student (``tools/test_det.py`` and stock mmdet configs
      load it strictly; the ImageNet stage's export reads the student alone); loading (resume, ``load_from``)
      moves them back before mmengine loads the weights, when the model has them, so a resumed run continues
      with its trained adapters.
    """

    key = "distill_state_dict"
    prefix = f"{CORE_ATTRIBUTE}."

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        core = getattr(model, CORE_ATTRIBUTE, None)
        if core is None or not is_main_process():
            return
        student, teacher = model.network_names()
        record = run_setup(student, teacher, core.record())
        atomic_write_bytes((json.dumps(record, indent=2) + "\n").encode(), Path(runner.work_dir) / DISTILL_FILE)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        core = getattr(unwrap_model(runner.model), CORE_ATTRIBUTE, None)
        if core is not None:
            core.iteration = runner.iter

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint["state_dict"]
        moved = {k: state.pop(k) for k in [k for k in state if k.startswith(self.prefix)]}
        if moved:
            checkpoint[self.key] = moved

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        moved = checkpoint.pop(self.key, None)
        if not moved:
            return
        model = unwrap_model(runner.model)
        wanted = set(model.state_dict())
        checkpoint["state_dict"].update({k: v for k, v in moved.items() if k in wanted})
