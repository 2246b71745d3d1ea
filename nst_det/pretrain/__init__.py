"""The ImageNet stage: distill a student ResNet from a frozen teacher and export its backbone."""
from .data import ImageFolderDataset
from .device_data import DeviceDecodePreprocessor, EncodedImageFolderDataset, encoded_collate
from .export import backbone_from_checkpoint, check_against_mmdet_resnet, export_backbone
from .metrics import TopKAccuracy
from .models import ClassifierDistiller, build_resnet, load_resnet_weights

__all__ = ["ClassifierDistiller", "ImageFolderDataset", "EncodedImageFolderDataset", "DeviceDecodePreprocessor",
           "encoded_collate", "TopKAccuracy", "build_resnet", "load_resnet_weights",
           "export_backbone", "backbone_from_checkpoint", "check_against_mmdet_resnet"]
