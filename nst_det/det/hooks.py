"""Hooks of the detection stage."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from nst_det.det.weights import check_backbone_file
from nst_det.registry import HOOKS


@HOOKS.register_module()
class BackboneCheckHook(Hook):
    """Stop training when the backbone's ``Pretrained`` file does not cover the backbone.

    mmengine's ``Pretrained`` init only warns about missing keys and leaves those weights random;
    this hook raises :class:`~nst_det.utils.errors.NSTDetError` listing the missing keys (and shape
    mismatches) before the first iteration. Runs at ``before_train``, so testing a trained
    checkpoint does not need the backbone file.
    """

    priority = "VERY_HIGH"

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        backbone = getattr(model, "backbone", None)
        if backbone is not None:
            path = check_backbone_file(backbone)
            if path is not None:
                runner.logger.info(f"backbone file {path} covers every key of the {type(backbone).__name__}")
