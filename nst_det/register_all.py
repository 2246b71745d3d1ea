"""Import every module that registers into MMDetection's registries and mmengine's file/checkpoint I/O.

Configs name it: ``custom_imports=dict(imports=['nst_det.register_all'])``; the tools import it. What
it registers: models (``ClassifierDistiller``, ``NSTDistillDetector``, ``NSTLoss``, ``KDLoss``),
datasets and samplers, transforms, metrics, the ``BF16OptimWrapper``, hooks, the ``'atomic_local'``
file backend and the local-file checkpoint loader (:mod:`nst_det.engine`).
"""
from nst_det import det, engine, evaluation, optim, pretrain, seeding  # noqa: F401
