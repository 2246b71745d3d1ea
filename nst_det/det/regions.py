"""Each image's valid (unpadded) region at a pyramid level, and a loss over valid regions only.

mmdet pads every image of a batch at the bottom and right to ``batch_input_shape``; the image itself
covers ``img_shape = (h, w)`` of it (``DetDataSample.metainfo``). At a level of stride ``s`` the
image covers the top-left ``ceil(h / s) × ceil(w / s)`` cells (the conv/pool arithmetic of a
backbone and FPN rounds sizes up). A distillation loss computed on the whole padded map would
count the padding: its share depends on the other images of the batch, and for NST it enters each
channel's L2-normalised selectivity map. :func:`valid_region_loss` crops every image to its valid
region instead, so an image's loss does not depend on how the batch padded it.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import Tensor

from nst_det.utils.errors import NSTDetError

Size = tuple[int, int]


def valid_size(img_shape: Sequence[int], stride: int, level_size: Size) -> Size:
    """``(ceil(h / stride), ceil(w / stride))`` of ``img_shape = (h, w)``, clipped to ``level_size``."""
    h, w = int(img_shape[0]), int(img_shape[1])
    return min(math.ceil(h / stride), level_size[0]), min(math.ceil(w / stride), level_size[1])


def valid_sizes(img_shapes: Sequence[Sequence[int]], stride: int, level_size: Size) -> list[Size]:
    """:func:`valid_size` of every image of a batch."""
    return [valid_size(shape, stride, level_size) for shape in img_shapes]


def group_by_size(sizes: Sequence[Size]) -> dict[Size, list[int]]:
    """Image indices grouped by valid size, in order of first appearance."""
    groups: dict[Size, list[int]] = {}
    for index, size in enumerate(sizes):
        groups.setdefault(size, []).append(index)
    return groups


def valid_region_loss(loss: Callable[[Tensor, Tensor], Tensor], student: Tensor, teacher: Tensor,
                      sizes: Sequence[Size]) -> Tensor:
    """The batch mean of ``loss`` over each image's valid region.

    Images with equal valid sizes are cropped and passed to ``loss`` together; the group losses,
    each a mean over its images, are combined weighted by group size.

    Args:
        loss: ``(student (n, Cs, h, w), teacher (n, Ct, h, w)) -> scalar``, averaging over its n images.
        student: ``(B, Cs, H, W)``, one pyramid level of the batch.
        teacher: ``(B, Ct, H, W)``, the same level of the teacher.
        sizes: ``B`` valid sizes ``(h, w)`` (:func:`valid_sizes`).

    Returns:
        A scalar: ``Σ_groups (n / B) · loss(group crops)``.
    """
    batch = student.shape[0]
    if len(sizes) != batch or teacher.shape[0] != batch:
        raise NSTDetError(f"valid_region_loss: {len(sizes)} valid sizes for student batch {batch} and "
                          f"teacher batch {teacher.shape[0]}")
    total = None
    for (h, w), indices in group_by_size(sizes).items():
        if len(indices) == batch:
            s, t = student[..., :h, :w], teacher[..., :h, :w]
        else:  # slices, not an index tensor: building one on the GPU would be a blocking copy from the host
            s = torch.cat([student[i:i + 1, :, :h, :w] for i in indices])
            t = torch.cat([teacher[i:i + 1, :, :h, :w] for i in indices])
        term = loss(s, t) * (len(indices) / batch)
        total = term if total is None else total + term
    return total
