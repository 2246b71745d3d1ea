"""ImageNet-layout classification data: ``root/<split>/<class>/*.JPEG``.

Images are decoded with PIL, augmented on the CPU as uint8 and normalised on the device by the
model's data preprocessor, so the DataLoader workers move 1 byte per pixel.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Union

import torch
from mmengine.logging import print_log
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision import transforms

from nst_det.registry import DATASETS
from nst_det.seeding import seeded_rngs
from nst_det.utils.errors import NSTDetError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


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


def scan_image_folder(split_dir: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """Class names (sorted folder names) and ``(path, class index)`` samples of one split."""
    if not split_dir.is_dir():
        raise NSTDetError(f"dataset folder {split_dir} does not exist (expected <data_root>/<split>/<class>/*.JPEG)")
    classes = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise NSTDetError(f"dataset folder {split_dir} has no class folders (expected {split_dir}/<class>/*.JPEG)")
    samples = [(path, label) for label, name in enumerate(classes)
               for path in sorted((split_dir / name).iterdir())
               if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()]
    if not samples:
        raise NSTDetError(f"dataset folder {split_dir} has class folders but no images "
                          f"(extensions {', '.join(IMAGE_EXTENSIONS)})")
    return classes, samples


@DATASETS.register_module()
class ImageFolderDataset(Dataset):
    """Classification samples from the ImageNet folder layout.

    Args:
        data_root: folder holding ``<split>/<class>/<image>``.
        split: ``"train"`` (random-resized crops and flips) or ``"val"`` (resize + centre crop).
        crop_size: output side length.
        resize_size: val short-side resize before the centre crop.
        crop_scale: train crops' share of the image area (ImageNet standard: 0.08 to 1).
        classes: expected class names; a different set of folders is an error (so train and val
            agree, and a teacher's classifier matches).
        skip_corrupt: replace an undecodable image by the next one and count it, instead of
            raising; each skip is logged with the file name.

    Each item is ``dict(inputs=(3, crop, crop) uint8 tensor, data_samples=class index)``. Items are
    addressed by index, or by ``(index, seed, epoch)`` from :class:`~nst_det.seeding.SeededSampler`, which makes
    the augmentation a function of those numbers alone.
    """

    def __init__(self, data_root: str, split: str = "train", crop_size: int = 224, resize_size: int = 256,
                 crop_scale: tuple[float, float] = (0.08, 1.0), classes: Optional[list[str]] = None,
                 skip_corrupt: bool = False) -> None:
        self.root = Path(data_root) / split
        self.classes, self.samples = scan_image_folder(self.root)
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

    def load_image(self, path: Path) -> Image.Image:
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

    def load_item(self, path: Path, label: int) -> dict:
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
