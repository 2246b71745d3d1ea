"""Registries. nst_det registers into MMDetection's registries (children of mmengine's roots), so
configs with ``default_scope='mmdet'`` and ``custom_imports=dict(imports=['nst_det'])`` name
``NSTLoss``, ``ClassifierDistiller``, ``NSTDistillDetector``, hooks and datasets directly."""
from mmdet.registry import DATA_SAMPLERS, DATASETS, HOOKS, METRICS, MODELS, OPTIM_WRAPPERS, TRANSFORMS

__all__ = ["MODELS", "DATASETS", "DATA_SAMPLERS", "HOOKS", "METRICS", "OPTIM_WRAPPERS", "TRANSFORMS"]
