"""Demo and test data: procedurally drawn shapes in ImageNet-folder, PASCAL VOC and COCO layouts."""
from .synthetic import CLASSES, make_classification_dataset, make_detection_dataset

__all__ = ["CLASSES", "make_classification_dataset", "make_detection_dataset"]
