"""The ImageNet stage: distill a student classifier from a frozen teacher and export its backbone."""
from .classifiers import CLASSIFIERS, build_classifier, load_classifier_weights
from .data import ImageFolderDataset
from .device_data import DeviceDecodePreprocessor, EncodedImageFolderDataset, encoded_collate
from .export import backbone_from_checkpoint, export_backbone
from .metrics import TopKAccuracy
from .models import ClassifierDistiller
from .students import STUDENTS, build_mmdet_backbone, check_against_mmdet_backbone, student_backbone

__all__ = ["ClassifierDistiller", "ImageFolderDataset", "EncodedImageFolderDataset", "DeviceDecodePreprocessor",
           "encoded_collate", "TopKAccuracy", "CLASSIFIERS", "build_classifier", "load_classifier_weights",
           "STUDENTS", "build_mmdet_backbone", "check_against_mmdet_backbone", "student_backbone",
           "export_backbone", "backbone_from_checkpoint"]
