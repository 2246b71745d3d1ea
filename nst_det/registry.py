"""Registries. nst_det registers into MMDetection's ``MODELS`` (a child of mmengine's root registry),
so configs with ``default_scope='mmdet'`` and ``custom_imports=dict(imports=['nst_det'])`` can name
``NSTLoss``, ``KDLoss`` and ``NSTDistillDetector`` directly."""
from mmdet.registry import MODELS

__all__ = ["MODELS"]
