"""Hooks of the detection stage: the backbone file checked before training."""
from __future__ import annotations

from mmengine.hooks import Hook

from nst_det.det.weights import check_backbone_file
from nst_det.engine.hooks.training_guards import is_training_run
from nst_det.registry import HOOKS
from nst_det.utils.weights import unwrap_model


@HOOKS.register_module()
class BackboneCheckHook(Hook):
    """Stop training when the backbone's ``Pretrained`` file does not cover the backbone.

    mmengine's ``Pretrained`` init only warns about missing keys and leaves those weights random,
    and fails with a bare traceback on a file it cannot load. This hook reads the file first, with
    the safe reader (``before_run``, before mmengine initialises the weights), and raises
    :class:`~nst_det.utils.errors.NSTDetError` naming the file and any missing or mis-shaped keys.
    Training runs only: testing a trained checkpoint does not need the backbone file.
    """

    priority = "VERY_HIGH"

    def before_run(self, runner) -> None:
        if not is_training_run(runner):
            return
        model = unwrap_model(runner.model)
        backbone = getattr(model, "backbone", None)
        if backbone is not None:
            path = check_backbone_file(backbone)
            if path is not None:
                runner.logger.info(f"backbone file {path} covers every key of the {type(backbone).__name__}")
