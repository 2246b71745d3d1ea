"""Device-side decoding and augmentation for the ImageNet stage
(``configs/distill/imagenet/nst/nst_r101_r18_100e_imagenet-device-decode.py``).

The CPU path (:class:`~nst_det.pretrain.data.ImageFolderDataset`) decodes and crops every image
with PIL in the DataLoader workers: about 450 images/s per core, far below what one GPU trains at.
Here the work is split:

* **Workers** (:class:`EncodedImageFolderDataset`) read the file's bytes and draw the image's crop
  box and flip with torchvision's own ``RandomResizedCrop.get_params`` and flip draw, on the image
  opened lazily (PIL reads the header only), inside the same ``(seed, epoch, index)`` generators as
  the CPU path: the geometry is identical, and exact resume still holds. Files the device cannot
  decode (PNG and other formats, grayscale or CMYK JPEGs) are decoded here on the CPU, alone.
* **The model's data preprocessor** (:class:`DeviceDecodePreprocessor`, in the training process on
  the training device) decodes the batch's JPEGs at once (``torchvision.io.decode_jpeg(list,
  device=...)``: nvJPEG on CUDA), crops and resizes every image to its box with ``roi_align`` (one
  call per distinct image size; adaptive sampling averages ``ceil(box / output)`` samples per output
  pixel, which antialiases downscaling), flips, normalises.

The same tensor code runs with ``device='cpu'`` (the tests compare it with the PIL path).
"""
from __future__ import annotations

import io
import re
from collections import defaultdict
from typing import NamedTuple, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.model import ImgDataPreprocessor
from mmengine.registry import FUNCTIONS
from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torchvision.io import ImageReadMode, decode_jpeg
from torchvision.ops import roi_align
from torchvision.transforms import RandomResizedCrop

from nst_det.pretrain.data import ImageFolderDataset
from nst_det.registry import DATASETS, MODELS
from nst_det.utils.errors import NSTDetError

# Start-of-frame markers (baseline, extended, progressive, lossless; Huffman and arithmetic coded)
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


class EncodedImage(NamedTuple):
    """One training image as a worker hands it over."""

    data: Tensor      # (N,) uint8 file bytes if ``encoded``, else the (3, H, W) uint8 image decoded on the CPU
    encoded: bool
    box: Tensor       # (4,) float32 (x1, y1, x2, y2) in pixels of the full image
    flip: bool
    path: str


class EncodedBatch(NamedTuple):
    """A batch of :class:`EncodedImage` (built by :func:`encoded_collate`)."""

    data: list[Tensor]
    encoded: list[bool]
    boxes: Tensor     # (B, 4) float32
    flips: Tensor     # (B,) bool
    paths: list[str]


def jpeg_components(data: bytes) -> Optional[int]:
    """Colour components of a JPEG (1 grayscale, 3 YCbCr, 4 CMYK) from its frame header; ``None``
    if ``data`` is not a JPEG or has no frame header."""
    if data[:3] != b"\xff\xd8\xff":
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if marker in _SOF_MARKERS:
            return data[pos + 9] if pos + 9 < len(data) else None
        if marker == 0xDA:  # start of scan before any frame header
            return None
        pos += 2 + length
    return None


def device_decodable(data: bytes) -> bool:
    """Whether the batched device decoder takes this file: a 3-component (YCbCr) JPEG."""
    return jpeg_components(data) == 3


def train_geometry(image: Image.Image, scale: Sequence[float], ratio: Sequence[float]) -> tuple[Tensor, bool]:
    """The CPU path's ``RandomResizedCrop`` box and ``RandomHorizontalFlip`` draw, in that order.

    Returns:
        ``(box, flip)``: box ``(4,)`` as ``(x1, y1, x2, y2)`` pixel edges.
    """
    top, left, height, width = RandomResizedCrop.get_params(image, list(scale), list(ratio))
    flip = bool(torch.rand(1) < 0.5)
    return torch.tensor([left, top, left + width, top + height], dtype=torch.float32), flip


def val_geometry(width: int, height: int, crop_size: int, resize_size: int) -> Tensor:
    """The box of ``Resize(resize_size)`` + ``CenterCrop(crop_size)`` in the original image's pixels."""
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(resize_size * long / short)
    new_w, new_h = (resize_size, new_long) if width <= height else (new_long, resize_size)
    top, left = int(round((new_h - crop_size) / 2.0)), int(round((new_w - crop_size) / 2.0))
    sx, sy = width / new_w, height / new_h
    return torch.tensor([left * sx, top * sy, (left + crop_size) * sx, (top + crop_size) * sy], dtype=torch.float32)


@DATASETS.register_module()
class EncodedImageFolderDataset(ImageFolderDataset):
    """:class:`~nst_det.pretrain.data.ImageFolderDataset` whose items are :class:`EncodedImage`.

    Same arguments, same seeding; ``skip_corrupt`` covers files whose header cannot be read (a
    JPEG damaged past its header is found when the batch is decoded, and named then).
    """

    RATIO = (3.0 / 4.0, 4.0 / 3.0)  # torchvision's RandomResizedCrop default

    def __init__(self, data_root: str, split: str = "train", crop_size: int = 224, resize_size: int = 256,
                 crop_scale: tuple[float, float] = (0.08, 1.0), classes: Union[list[str], str, None] = None,
                 skip_corrupt: bool = False, ann_file: str = "", data_prefix: Union[str, dict, None] = None) -> None:
        super().__init__(data_root, split, crop_size, resize_size, crop_scale, classes, skip_corrupt, ann_file,
                         data_prefix)
        self.split, self.crop_size, self.resize_size, self.crop_scale = split, crop_size, resize_size, crop_scale

    def load_item(self, path: str, label: int) -> dict:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise NSTDetError(f"cannot decode image {path}: {exc.strerror or exc}") from None
        try:
            image = Image.open(io.BytesIO(data))  # lazy: the header only
            width, height = image.size
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
            raise NSTDetError(f"cannot decode image {path}: {exc}") from None
        if self.split == "train":
            box, flip = train_geometry(image, self.crop_scale, self.RATIO)
        else:
            box, flip = val_geometry(width, height, self.crop_size, self.resize_size), False
        if device_decodable(data):
            pixels, encoded = torch.frombuffer(bytearray(data), dtype=torch.uint8), True
        else:  # PNG, grayscale or CMYK JPEG, ...: decoded here, alone
            try:
                pixels = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1).contiguous()
            except (OSError, SyntaxError, ValueError) as exc:
                raise NSTDetError(f"cannot decode image {path}: {exc}") from None
            encoded = False
        return dict(inputs=EncodedImage(pixels, encoded, box, flip, path), data_samples=torch.tensor(label))


@FUNCTIONS.register_module()
def encoded_collate(batch: Sequence[dict]) -> dict:
    """Collate :class:`EncodedImageFolderDataset` items into ``dict(inputs=EncodedBatch, data_samples=(B,))``."""
    images = [item["inputs"] for item in batch]
    return dict(inputs=EncodedBatch(data=[im.data for im in images], encoded=[im.encoded for im in images],
                                    boxes=torch.stack([im.box for im in images]),
                                    flips=torch.tensor([im.flip for im in images], dtype=torch.bool),
                                    paths=[im.path for im in images]),
                data_samples=torch.stack([item["data_samples"] for item in batch]))


def decode_batch(batch: EncodedBatch, device: Union[str, torch.device]) -> list[Tensor]:
    """Every image of ``batch`` as a ``(3, H, W)`` uint8 tensor on ``device``; JPEGs decoded together."""
    jpegs = [i for i, encoded in enumerate(batch.encoded) if encoded]
    images: list[Optional[Tensor]] = [None if encoded else to_device(data, device)
                                      for data, encoded in zip(batch.data, batch.encoded)]
    if jpegs:
        try:
            decoded = decode_jpeg([batch.data[i] for i in jpegs], mode=ImageReadMode.RGB, device=device)
        except RuntimeError:
            decoded = [_decode_one(batch.data[i], batch.paths[i], device) for i in jpegs]
        for i, image in zip(jpegs, decoded):
            images[i] = image
    return images  # type: ignore[return-value]


def _decode_one(data: Tensor, path: str, device: Union[str, torch.device]) -> Tensor:
    try:
        return decode_jpeg(data, mode=ImageReadMode.RGB, device=device)
    except RuntimeError as exc:
        reason = re.sub(r"^.*\.cpp:\d+, ", "", str(exc).strip().splitlines()[0])  # torchvision prefixes its source
        raise NSTDetError(f"cannot decode image {path}: {reason} (a damaged JPEG; remove it, "
                          "or train with the CPU data path and train_dataloader.dataset.skip_corrupt=True)") from None


def to_device(tensor: Tensor, device: Union[str, torch.device]) -> Tensor:
    """A host tensor on ``device`` without blocking the host (staged through pinned memory on CUDA)."""
    if torch.device(device).type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def crop_resize(images: Sequence[Tensor], boxes: Tensor, size: int) -> Tensor:
    """Crop each ``(3, H, W)`` image to its box and resize it to ``(size, size)``, one ``roi_align`` per image size.

    Args:
        images: ``B`` tensors ``(3, H_i, W_i)``, any dtype, on one device.
        boxes: ``(B, 4)`` ``(x1, y1, x2, y2)`` pixel edges, on the CPU (as collated): the per-size
            indices and RoIs are built there and sent without blocking.
        size: output side.

    Returns:
        ``(B, 3, size, size)`` float32 on the images' device. Each output pixel averages
        ``ceil(box side / size)`` squared bilinear samples of its bin (``sampling_ratio=-1``), so
        shrinking is antialiased.
    """
    device = images[0].device
    out = torch.empty((len(images), 3, size, size), dtype=torch.float32, device=device)
    by_shape: dict[tuple[int, int], list[int]] = defaultdict(list)
    for index, image in enumerate(images):
        by_shape[tuple(image.shape[-2:])].append(index)
    for indices in by_shape.values():
        stack = torch.stack([images[i] for i in indices]).float()
        select = torch.tensor(indices)
        rois = torch.cat([torch.arange(len(indices), dtype=torch.float32)[:, None],
                          boxes.index_select(0, select).float()], dim=1)
        out[to_device(select, device)] = roi_align(stack, to_device(rois, device), (size, size), spatial_scale=1.0,
                                                   sampling_ratio=-1, aligned=True)
    return out


@MODELS.register_module()
class DeviceDecodePreprocessor(ImgDataPreprocessor):
    """``ImgDataPreprocessor`` that first decodes, crops, resizes and flips an :class:`EncodedBatch` on its device.

    Args:
        crop_size: output side length (the dataset's ``crop_size``).
        **kwargs: ``ImgDataPreprocessor``'s (``mean``, ``std``, ...).
    """

    def __init__(self, crop_size: int = 224, **kwargs) -> None:
        super().__init__(**kwargs)
        self.crop_size = crop_size

    def forward(self, data: dict, training: bool = False) -> dict:
        batch = data["inputs"]
        if isinstance(batch, EncodedBatch):
            data = {**data, "inputs": self.decode(batch)}
        return super().forward(data, training)

    @torch.compiler.disable
    def decode(self, batch: EncodedBatch) -> Tensor:
        """``(B, 3, crop, crop)`` uint8 crops of ``batch``, flipped where drawn.

        Excluded from ``torch.compile`` (mmengine's ``compile=True`` compiles the whole ``train_step``,
        this preprocessor included): decoding reads the bytes themselves, which tracing cannot, and the
        crops are grouped by each batch's image sizes. It runs eagerly between the compiled parts.
        """
        images = decode_batch(batch, self.device)
        inputs = crop_resize(images, batch.boxes, self.crop_size)
        flips = to_device(batch.flips, self.device)[:, None, None, None]
        return torch.where(flips, inputs.flip(-1), inputs)
