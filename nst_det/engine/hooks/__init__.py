"""Training hooks (registered in mmdet's ``HOOKS``)."""
from .detection_hooks import BackboneCheckHook
from .distill_hooks import DistillStateHook
from .iteration_seed_hook import IterationSeedHook
from .plain_checkpoint_hook import PlainCheckpointHook
from .pretrain_hooks import ExportBackboneHook, TeacherAccuracyHook
from .runtime_switches_hook import RuntimeSwitchesHook
from .teacher_check import TeacherCheckHook
from .training_guards import DistillDivergenceHook, FreeSpaceHook, NonFiniteLossHook, is_training_run

__all__ = ["BackboneCheckHook", "DistillDivergenceHook", "DistillStateHook", "ExportBackboneHook", "FreeSpaceHook",
           "IterationSeedHook", "NonFiniteLossHook", "PlainCheckpointHook", "RuntimeSwitchesHook",
           "TeacherAccuracyHook", "TeacherCheckHook", "is_training_run"]
