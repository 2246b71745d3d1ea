"""The mmengine layer: training hooks, the atomic file backend and the checkpoint loader scheme.

Importing it registers them (``HOOKS``; mmengine's ``'atomic_local'`` file backend; the local-file
``CheckpointLoader`` scheme, which routes ``load_from``/``resume``/``Pretrained`` through
:func:`~nst_det.utils.checkpoint.read_checkpoint`). ``nst_det.utils`` registers nothing.
"""
from . import checkpoint_loader, fileio  # noqa: F401  (registrations)
from .fileio import AtomicLocalBackend
from .hooks import (
                    BackboneCheckHook,
                    DistillDivergenceHook,
                    DistillStateHook,
                    ExportBackboneHook,
                    FreeSpaceHook,
                    IterationSeedHook,
                    NonFiniteLossHook,
                    PlainCheckpointHook,
                    RuntimeSwitchesHook,
                    TeacherAccuracyHook,
)

__all__ = ["AtomicLocalBackend", "BackboneCheckHook", "DistillDivergenceHook",
           "DistillStateHook", "ExportBackboneHook", "FreeSpaceHook",
           "IterationSeedHook", "NonFiniteLossHook", "PlainCheckpointHook", "RuntimeSwitchesHook",
           "TeacherAccuracyHook"]
