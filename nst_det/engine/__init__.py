"""The mmengine layer: training hooks, the CLI and config rewrites, the optimizer wrapper, the seeded sampler,
the atomic file backend, the checkpoint loader schemes, plain-data checkpoints, the runner.

Importing it registers them (``HOOKS``, ``OPTIM_WRAPPERS``, ``DATA_SAMPLERS``/``DATASETS``; mmengine's
``'atomic_local'`` file backend; the local-file ``CheckpointLoader`` scheme, which routes
``load_from``/``resume``/``Pretrained`` through :func:`~nst_det.utils.checkpoint.read_checkpoint`, and the URL /
``torchvision://`` schemes, which download into torch's hub cache and read the file the same way; mmengine's
model-zoo tables for :mod:`nst_det.utils.download`; ``NSTDetRunner`` in ``RUNNERS``) and routes the library's
``logging`` records into mmengine's log (:mod:`.log_bridge`). ``nst_det.utils`` registers nothing.
"""
from . import checkpoint_loader, fileio, log_bridge, optim, remote_checkpoints, runner, seeded_data  # noqa: F401
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
                    TeacherCheckHook,
)

__all__ = ["AtomicLocalBackend", "BackboneCheckHook", "DistillDivergenceHook",
           "DistillStateHook", "ExportBackboneHook", "FreeSpaceHook",
           "IterationSeedHook", "NonFiniteLossHook", "PlainCheckpointHook", "RuntimeSwitchesHook",
           "TeacherAccuracyHook", "TeacherCheckHook"]
