"""Training hooks (registered in mmdet's ``HOOKS``)."""
from .detection_hooks import BackboneCheckHook, DistillStateHook
from .iteration_seed_hook import IterationSeedHook
from .plain_checkpoint_hook import PlainCheckpointHook
from .pretrain_hooks import ExportBackboneHook, TeacherAccuracyHook
from .runtime_switches_hook import RuntimeSwitchesHook
from .training_guards import DistillDivergenceHook, FreeSpaceHook, NonFiniteLossHook, is_training_run

__all__ = ["BackboneCheckHook", "DistillDivergenceHook",
           "DistillStateHook", "ExportBackboneHook", "FreeSpaceHook", "IterationSeedHook",
           "NonFiniteLossHook", "PlainCheckpointHook", "RuntimeSwitchesHook", "TeacherAccuracyHook", "is_training_run"]
