"""See what NST transfers: the teacher's and the student's most selective channels on one image.

    teacher = load_classifier("teacher.pth", "resnet50")
    student = load_classifier("student.pth", "resnet18")
    image = load_image("cat.jpg")
    fig = selectivity_figure(image, teacher, student, "layer4", "layer4", top=4)
    fig.savefig("selectivity.png")

NST treats each channel's spatial map, L2-normalised over HW, as one sample of the layer's
"neuron selectivity" distribution and matches the student's distribution to the teacher's (MMD²).
The figure shows, for each network:

* the **mean selectivity map** s̄ = mean over channels of the normalised maps: where the layer as
  a whole fires (the linear-kernel MMD² is exactly ‖s̄ − t̄‖²);
* the **top-k channels**, ranked by their **peak activation** ``max_hw x[c]`` (default,
  ``rank_by="peak"``): the neurons that respond most strongly anywhere in this image, so their
  map shows the pattern they are selective to. ``rank_by="mean"`` ranks by mean activation
  (channels that respond broadly) instead.

Each map is upsampled (bilinear) to the input crop and drawn over it as a heatmap, scaled to
its own min..max. The title gives the per-image MMD² of the two taps with the paper's kernel
(polynomial, d=2, c=0) from :func:`nst_det.losses.nst_mmd2` (spatial sizes aligned by pooling).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import Tensor, nn

from nst_det.losses import nst_mmd2, selectivity_maps
from nst_det.pretrain.classifiers import build_classifier
from nst_det.pretrain.data import val_transform
from nst_det.taps import FeatureTaps
from nst_det.utils.errors import NSTDetError
from nst_det.utils.weights import load_checked, read_classifier_state_dict

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
RANK_BY = ("peak", "mean")


# ----------------------------------------------------------------------------- inputs
def load_image(path: Union[str, Path]) -> Image.Image:
    """Read an image file as RGB; a missing file or one PIL cannot decode is an :class:`NSTDetError`."""
    path = Path(path)
    if not path.is_file():
        raise NSTDetError(f"image {path} does not exist" if not path.exists() else f"image {path} is not a file")
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise NSTDetError(f"{path} is not an image PIL can read: {exc}") from None


def preprocess(image: Image.Image, crop: int = 224, resize: int = 256) -> tuple[Tensor, Tensor]:
    """``(crop uint8 (3, crop, crop), network input float (1, 3, crop, crop))``: the validation
    transform (short side to ``resize``, centre crop) and ImageNet normalisation."""
    if crop < 1 or resize < crop:
        raise NSTDetError(f"need 1 <= crop <= resize, got crop={crop}, resize={resize}")
    pixels = val_transform(crop, resize)(image)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return pixels, (pixels.unsqueeze(0).float() - mean) / std


def load_classifier(path: Union[str, Path], arch: str, num_classes: Optional[int] = None,
                    what: str = "checkpoint") -> nn.Module:
    """A ResNet in eval mode with the weights of ``path`` (any format
    :func:`~nst_det.utils.weights.read_classifier_state_dict` reads).

    ``num_classes`` defaults to the rows of the checkpoint's ``fc.weight``. A backbone export
    without ``fc.*`` loads too: the head keeps its random init (it is not used here), and every
    other key must match exactly — a missing, unexpected or mis-shaped backbone key is an error.
    """
    state_dict, fmt = read_classifier_state_dict(path, what)
    has_head = "fc.weight" in state_dict
    if num_classes is None:
        num_classes = int(state_dict["fc.weight"].shape[0]) if has_head else 1000
    model = build_classifier(arch, num_classes)
    load_checked(model, state_dict, what, f"{path} ({fmt} format)", optional=() if has_head else ("fc.",),
                 name=f"{arch} with {num_classes} classes",
                 hint=f"Is it a checkpoint of another architecture{' or number of classes' if has_head else ''}?")
    return model.eval()


# ----------------------------------------------------------------------------- features
@torch.no_grad()
def tap_features(model: nn.Module, inputs: Tensor, tap: str) -> Tensor:
    """The ``(B, C, H, W)`` feature map at ``tap`` (``"layer4"``, ``"layer4.1.relu:input"``) for ``inputs``."""
    with FeatureTaps(model, [tap], detach=True) as taps:
        model(inputs)
        feature = taps.features.get(tap)
    if feature is None:
        raise NSTDetError(f"tap {tap!r} captured nothing: its module is not called in {type(model).__name__}.forward")
    if feature.dim() != 4:
        raise NSTDetError(f"tap {tap!r} gives shape {tuple(feature.shape)}, not a (B, C, H, W) feature map; "
                          "tap a convolutional stage such as 'layer4' or 'layer3.1.relu:input'")
    return feature.float()


@dataclass
class RankedMaps:
    """The top channels of one image's feature map ``(C, H, W)``.

    Attributes:
        channels: ``(k,)`` channel indices, most selective first.
        scores: ``(k,)`` their ranking scores (peak or mean activation).
        maps: ``(k, H, W)`` their raw activation maps.
        mean_map: ``(H, W)`` mean over all channels of the L2-normalised maps (s̄ of NST).
        shape: ``(C, H, W)`` of the whole feature map.
    """

    channels: Tensor
    scores: Tensor
    maps: Tensor
    mean_map: Tensor
    shape: tuple[int, int, int]


def rank_channels(feature: Tensor, top: int = 4, rank_by: str = "peak") -> RankedMaps:
    """Rank the channels of ``feature`` ``(C, H, W)`` (or ``(1, C, H, W)``) and keep the ``top``
    (at most C): by peak activation ``max_hw`` (``"peak"``) or mean activation (``"mean"``)."""
    if feature.dim() == 4:
        if feature.shape[0] != 1:
            raise NSTDetError(f"rank_channels takes one image, got a batch of {feature.shape[0]}")
        feature = feature[0]
    if feature.dim() != 3:
        raise NSTDetError(f"rank_channels takes a (C, H, W) feature map, got shape {tuple(feature.shape)}")
    if rank_by not in RANK_BY:
        raise NSTDetError(f"unknown rank_by {rank_by!r}; choose one of {RANK_BY}")
    if not isinstance(top, int) or top < 1:
        raise NSTDetError(f"top must be a positive integer, got {top!r}")
    flat = feature.flatten(1)
    score = flat.amax(1) if rank_by == "peak" else flat.mean(1)
    scores, channels = score.topk(min(top, feature.shape[0]))
    mean_map = selectivity_maps(feature.unsqueeze(0))[0].mean(0).view(feature.shape[1:])
    return RankedMaps(channels, scores, feature[channels], mean_map, tuple(feature.shape))


@dataclass
class SelectivityComparison:
    """Teacher and student features of one image, their ranked maps and their MMD² (poly, d=2)."""

    teacher_feature: Tensor
    student_feature: Tensor
    teacher: RankedMaps
    student: RankedMaps
    mmd2: float


def compare_selectivity(inputs: Tensor, teacher: nn.Module, student: nn.Module, teacher_tap: str,
                        student_tap: str, top: int = 4, rank_by: str = "peak") -> SelectivityComparison:
    """Run both networks on ``inputs`` ``(1, 3, H, W)`` (normalised) and compare their taps."""
    if inputs.dim() != 4 or inputs.shape[0] != 1:
        raise NSTDetError(f"compare_selectivity takes one normalised image (1, 3, H, W), got {tuple(inputs.shape)}")
    teacher_feature = tap_features(teacher, inputs, teacher_tap)
    student_feature = tap_features(student, inputs, student_tap)
    mmd2 = float(nst_mmd2(student_feature, teacher_feature, kernel="poly")[0])
    return SelectivityComparison(teacher_feature, student_feature, rank_channels(teacher_feature, top, rank_by),
                                 rank_channels(student_feature, top, rank_by), mmd2)


# ----------------------------------------------------------------------------- figure
def _upsample(map_hw: Tensor, size: tuple[int, int]) -> Tensor:
    up = F.interpolate(map_hw[None, None].float(), size=size, mode="bilinear", align_corners=False)[0, 0]
    low, high = up.min(), up.max()
    return (up - low) / (high - low) if high > low else torch.zeros_like(up)


def selectivity_figure(image: Union[Image.Image, Tensor], teacher: nn.Module, student: nn.Module,
                       teacher_tap: str, student_tap: str, top: int = 4, rank_by: str = "peak",
                       crop: int = 224, resize: int = 256, names: tuple[str, str] = ("teacher", "student"),
                       cmap: str = "jet", alpha: float = 0.5):
    """A matplotlib Figure: the input crop, then one row per network (teacher, student) with its
    mean selectivity map and its ``top`` channels as heatmaps over the crop; MMD² in the title.

    Args:
        image: a PIL image (validation transform applied here) or a ``(3, H, W)`` uint8 tensor
            already at network resolution (only normalised).
        names: row labels, e.g. ``("resnet50 (teacher)", "resnet18 (student)")``.

    The comparison itself is attached as ``fig.comparison`` (:class:`SelectivityComparison`).
    """
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    if isinstance(image, Image.Image):
        pixels, inputs = preprocess(image, crop, resize)
    elif isinstance(image, Tensor) and image.dim() == 3 and image.shape[0] == 3:
        pixels = image.to(torch.uint8)
        mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        inputs = (pixels.unsqueeze(0).float() - mean) / std
    else:
        raise NSTDetError("selectivity_figure takes a PIL image or a (3, H, W) uint8 tensor")
    result = compare_selectivity(inputs, teacher, student, teacher_tap, student_tap, top, rank_by)
    size = tuple(pixels.shape[1:])
    picture = pixels.permute(1, 2, 0).numpy()
    # heatmaps go over a grey copy of the crop, so the image's own colours do not read as heat
    grey = (pixels.float() * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0).numpy()

    shown = max(len(result.teacher.channels), len(result.student.channels))
    columns = 4 + shown  # input, spacer for the row labels, mean map, top channels, colour bar
    fig = plt.figure(figsize=(2.3 * (shown + 1) + 3.8, 5.4))
    grid = fig.add_gridspec(2, columns, width_ratios=[1.25, 0.3] + [1] * (shown + 1) + [0.08],
                            wspace=0.08, hspace=0.3)
    ax = fig.add_subplot(grid[:, 0])
    ax.imshow(picture)
    ax.set_title(f"input ({size[1]}×{size[0]})", fontsize=9)
    ax.axis("off")
    for row, (name, tap, ranked) in enumerate(((names[0], teacher_tap, result.teacher),
                                               (names[1], student_tap, result.student))):
        panels = [("mean selectivity s̄", ranked.mean_map)]
        panels += [(f"ch {int(c)}  ({rank_by} {float(s):.3g})", m)
                   for c, s, m in zip(ranked.channels, ranked.scores, ranked.maps)]
        for col, (label, map_hw) in enumerate(panels, start=2):
            ax = fig.add_subplot(grid[row, col])
            ax.imshow(grey, cmap="gray", vmin=0, vmax=255)
            heat = ax.imshow(_upsample(map_hw, size).numpy(), cmap=cmap, alpha=alpha, vmin=0.0, vmax=1.0)
            ax.set_title(label, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 2:
                c, h, w = ranked.shape
                ax.set_ylabel(f"{name}\n{tap}  ({c}×{h}×{w})", fontsize=9)
    bar = fig.colorbar(heat, cax=fig.add_subplot(grid[:, -1]), ticks=[0.0, 1.0])
    bar.ax.set_yticklabels(["min", "max"], fontsize=8)
    fig.suptitle(f"{names[0]} vs {names[1]}: MMD² (poly kernel, d=2) = {result.mmd2:.6g}\n"
                 f"mean selectivity map and top {shown} channels by {rank_by} activation; "
                 "each heatmap scaled to its own min..max", fontsize=10)
    fig.subplots_adjust(left=0.01, right=0.965, top=0.84, bottom=0.03)
    fig.comparison = result
    return fig
