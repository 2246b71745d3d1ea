"""nst_det: Neuron Selectivity Transfer for backbones and MMDetection detectors.

Importing the package registers everything configs name (``custom_imports=dict(imports=['nst_det'])``).
"""
from nst_det import det, evaluation, hooks, losses, optim, pretrain, seeding, taps  # noqa: F401
from nst_det.utils import checkpoint  # noqa: F401  (PlainCheckpointHook, 'atomic_local' file backend)

__version__ = "0.1.0"
