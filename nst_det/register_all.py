"""Import every module that registers into MMDetection's registries and mmengine's file/checkpoint I/O.

Configs name it: ``custom_imports=dict(imports=['nst_det.register_all'])``; the tools import it. What
it registers: models (``ClassifierDistiller``, ``NSTDistillDetector``, the losses), datasets and samplers,
transforms, metrics (:mod:`nst_det.det`, :mod:`nst_det.pretrain`), and the mmengine layer (:mod:`nst_det.engine`:
the ``BF16OptimWrapper``, the seeded sampler, hooks, the ``'atomic_local'`` file backend, the checkpoint loaders).
"""
from nst_det import det, engine, pretrain  # noqa: F401
