"""The mmengine layer: training hooks, the atomic file backend, the checkpoint loader schemes, the runner.

Importing it registers them (``HOOKS``; mmengine's ``'atomic_local'`` file backend; the local-file
``CheckpointLoader`` scheme, which routes ``load_from``/``resume``/``Pretrained`` through
:func:`~nst_det.utils.checkpoint.read_checkpoint`, and the URL / ``torchvision://`` schemes, which download
into torch's hub cache and read the file the same way; ``NSTDetRunner`` in ``RUNNERS``).
``nst_det.utils`` registers nothing.
"""
from . import checkpoint_loader, fileio, remote_checkpoints, runner  # noqa: F401  (registrations)
from .fileio import AtomicLocalBackend
from .hooks import (
                    BackboneCheckHook,
                    DistillStateHook,
                    ExportBackboneHook,
                    FreeSpaceHook,
                    IterationSeedHook,
                    NonFiniteLossHook,
                    PlainCheckpointHook,
                    RuntimeSwitchesHook,
                    TeacherAccuracyHook,
                    TeacherCheckHook,
)

__all__ = ["AtomicLocalBackend", "BackboneCheckHook", "DistillStateHook", "ExportBackboneHook", "FreeSpaceHook",
           "IterationSeedHook", "NonFiniteLossHook", "PlainCheckpointHook", "RuntimeSwitchesHook",
           "TeacherAccuracyHook", "TeacherCheckHook"]
