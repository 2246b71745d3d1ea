"""Detection stage: FPN distillation (NST, MSE mimic) inside MMDetection, checked weight loading, dataset checks."""
from .distiller import NSTDistillDetector
from .images import CheckedLoadImageFromFile
from .levels import Level, measure_levels, select_levels
from .teacher import build_teacher, load_model_config
from .weights import check_backbone_file, resolve_checkpoint

__all__ = ["NSTDistillDetector", "CheckedLoadImageFromFile", "Level",
           "measure_levels", "select_levels", "build_teacher", "load_model_config", "check_backbone_file",
           "resolve_checkpoint"]
