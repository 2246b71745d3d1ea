"""Detection stage: FPN distillation inside MMDetection, the teacher detector, checked backbone files, dataset
checks, the VOC metric with the dataset's class names."""
from .distiller import NSTDistillDetector, student_only
from .images import CheckedLoadImageFromFile
from .levels import Level, measure_levels, select_levels
from .metrics import NamedVOCMetric
from .teacher import build_teacher, config_file, load_model_config
from .weights import check_backbone_file

__all__ = ["NSTDistillDetector", "student_only", "CheckedLoadImageFromFile", "Level", "measure_levels",
           "select_levels", "NamedVOCMetric", "build_teacher", "config_file", "load_model_config",
           "check_backbone_file"]
