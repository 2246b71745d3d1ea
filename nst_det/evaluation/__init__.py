"""Evaluation helpers over mmdet's metrics and pycocotools."""
from .setup import configure_test_evaluation, keep_ground_truth_meta
from .voc_metric import NamedVOCMetric

__all__ = ["NamedVOCMetric", "configure_test_evaluation", "keep_ground_truth_meta"]
