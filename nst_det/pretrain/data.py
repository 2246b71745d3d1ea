"""ImageNet-stage classification data: ``root/<split>/<class>/*.JPEG``, or a ``meta/train.txt`` listing.

Images are decoded with PIL, augmented on the CPU as uint8 and normalised on the device by the
model's data preprocessor, so the DataLoader workers move 1 byte per pixel.
"""
from __future__ import annotations

import logging
import os.path as osp
from typing import Union

import torch
from mmengine.logging import print_log
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision import transforms

from nst_det.pretrain.samples import read_listing, scan_image_folder
from nst_det.registry import DATASETS
from nst_det.seeding import seeded_rngs
from nst_det.utils.distributed import share_from_rank0
from nst_det.utils.errors import NSTDetError


def train_transform(crop_size: int, crop_scale: tuple[float, float] = (0.08, 1.0)) -> transforms.Compose:
    """RandomResizedCrop (area share ``crop_scale``) + horizontal flip, to a ``(3, crop, crop)`` uint8 tensor."""
    return transforms.Compose([
        transforms.RandomResizedCrop(crop_size, scale=tuple(crop_scale), antialias=True),
        transforms.RandomHorizontalFlip(),
        transforms.PILToTensor(),
    ])


def val_transform(crop_size: int, resize_size: int) -> transforms.Compose:
    """Resize the short side to ``resize_size``, centre-crop ``crop_size``, uint8 tensor."""
    return transforms.Compose([
        transforms.Resize(resize_size, antialias=True),
        transforms.CenterCrop(crop_size),
        transforms.PILToTensor(),
    ])


@DATASETS.register_module()
class ImageFolderDataset(Dataset):
    """Classification samples from the ImageNet folder layout or a listing file (mmpretrain's conventions).

    Args:
        data_root: folder holding the images (and a relative ``ann_file``).
        split: ``"train"`` (random-resized crops and flips) or ``"val"`` (resize + centre crop); also
            the image folder under ``data_root`` unless ``data_prefix`` names another.
        crop_size: output side length.
        resize_size: val short-side resize before the centre crop.
        crop_scale: train crops' share of the image area (ImageNet standard: 0.08 to 1).
        classes: class names (a list, or a text file with one name per line). Folder layout: the
            class folders must be exactly these (so train and val agree, and a teacher's classifier
            matches). Listing: the labels index them.
        skip_corrupt: replace an undecodable image by the next one and count it, instead of
            raising; each skip is logged with the file name.
        ann_file: a listing of ``relative/path label`` lines (mmpretrain's ``meta/train.txt``), relative
            to ``data_root`` unless absolute; without it the image folder is scanned.
        data_prefix: the image folder under ``data_root`` (a string, or mmpretrain's
            ``dict(img_path=...)``); default ``split``.

    The folder scan or the listing is read once, on rank 0, and sent to the other ranks
    (:func:`~nst_det.utils.distributed.share_from_rank0`); the samples are kept in one
    :class:`~nst_det.pretrain.samples.SampleTable` (a byte buffer, not a Python object per image), so
    DataLoader workers do not copy them. Each item is ``dict(inputs=(3, crop, crop) uint8 tensor,
    data_samples=class index)``. Items are addressed by index, or by ``(index, seed, epoch)`` from
    :class:`~nst_det.engine.seeded_data.SeededSampler`, which makes the augmentation a function of those numbers alone.
    """

    def __init__(self, data_root: str, split: str = "train", crop_size: int = 224, resize_size: int = 256,
                 crop_scale: tuple[float, float] = (0.08, 1.0), classes: Union[list[str], str, None] = None,
                 skip_corrupt: bool = False, ann_file: str = "", data_prefix: Union[str, dict, None] = None) -> None:
        if isinstance(data_prefix, dict):
            data_prefix = data_prefix.get("img_path", "")
        self.root = osp.join(data_root, split if data_prefix is None else data_prefix)
        if isinstance(classes, str):
            classes = _read_class_names(classes)
        if ann_file:
            listing = ann_file if osp.isabs(ann_file) else osp.join(data_root, ann_file)
            self.classes, self.samples = share_from_rank0(lambda: read_listing(listing, self.root, classes),
                                                         what=f"reading the listing {listing}")
        else:
            self.classes, self.samples = share_from_rank0(lambda: scan_image_folder(self.root),
                                                         what=f"scanning the image folder {self.root}")
            if classes is not None and list(classes) != self.classes:
                raise NSTDetError(f"class folders in {self.root} ({len(self.classes)}: {self.classes[:5]}...) "
                                  f"differ from the expected {len(classes)} classes ({list(classes)[:5]}...)")
        self.transform = (train_transform(crop_size, crop_scale) if split == "train"
                          else val_transform(crop_size, resize_size))
        self.skip_corrupt = skip_corrupt
        self.skipped = 0

    @property
    def metainfo(self) -> dict:
        return dict(classes=tuple(self.classes))

    def __len__(self) -> int:
        return len(self.samples)

    def load_image(self, path: str) -> Image.Image:
        try:
            with Image.open(path) as image:
                return image.convert("RGB")
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
            raise NSTDetError(f"cannot decode image {path}: {exc}") from None

    def __getitem__(self, item: Union[int, tuple[int, int, int]]) -> dict:
        if isinstance(item, tuple):
            index, seed, epoch = item
            with seeded_rngs(seed, epoch, index):
                return self._load(index)
        return self._load(item)

    def load_item(self, path: str, label: int) -> dict:
        """``dict(inputs=(3, crop, crop) uint8 tensor, data_samples=label)`` for one file."""
        return dict(inputs=self.transform(self.load_image(path)), data_samples=torch.tensor(label))

    def _load(self, index: int) -> dict:
        for attempt in range(len(self.samples)):
            path, label = self.samples[(index + attempt) % len(self.samples)]
            try:
                return self.load_item(path, label)
            except NSTDetError as exc:
                if not self.skip_corrupt:
                    raise
                self.skipped += 1
                print_log(f"skipping corrupt image ({self.skipped} so far in this worker): {exc}",
                          logger="current", level=logging.WARNING)
        raise NSTDetError(f"no decodable image in {self.root}")


def _read_class_names(path: str) -> list[str]:
    """Class names from a text file, one per line (mmpretrain's ``classes='path'``)."""
    try:
        with open(osp.expanduser(path), encoding="utf-8") as f:
            names = [line.strip() for line in f if line.strip()]
    except OSError as exc:
        raise NSTDetError(f"class names file {path} cannot be read ({exc.strerror or exc})") from None
    if not names:
        raise NSTDetError(f"class names file {path} names no classes")
    return names
