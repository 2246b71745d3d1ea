"""Registries. nst_det registers into MMDetection's registries (children of mmengine's roots), so
configs with ``default_scope='mmdet'`` and ``custom_imports=dict(imports=['nst_det.register_all'])`` name
``NSTLoss``, ``ClassifierDistiller``, ``NSTDistillDetector``, hooks and datasets directly.

The losses are plain torch modules (:mod:`nst_det.losses` imports no mmdet); they are registered here,
where mmdet's registries are bound.
"""
from mmdet.registry import DATA_SAMPLERS, DATASETS, HOOKS, METRICS, MODELS, OPTIM_WRAPPERS, TRANSFORMS

from nst_det.losses import FEATURE_LOSSES, KDLoss

for _loss in (*FEATURE_LOSSES, KDLoss):
    MODELS.register_module(module=_loss)

__all__ = ["MODELS", "DATASETS", "DATA_SAMPLERS", "HOOKS", "METRICS", "OPTIM_WRAPPERS", "TRANSFORMS"]
