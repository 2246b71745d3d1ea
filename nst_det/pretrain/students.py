"""Student architectures of the ImageNet stage and the MMDetection backbone each one exports to.

==============  ==============================================  ===================================
student         mmdet backbone (key layout of the export)       NST tap: final pre-activation
==============  ==============================================  ===================================
resnet18        ``ResNet(depth=18)`` (torchvision's, no ``fc``)  ``layer4.1.relu:input`` (512 ch)
resnet34        ``ResNet(depth=34)``                             ``layer4.2.relu:input`` (512 ch)
resnet50        ``ResNet(depth=50)``                             ``layer4.2.relu:input`` (2048 ch)
resnet101/152   ``ResNet(depth=101/152)``                        ``layer4.2.relu:input`` (2048 ch)
mobilenet_v2    ``MobileNetV2`` (keys mapped, see below)         ``features.18.2:input`` (1280 ch)
==============  ==============================================  ===================================

The final pre-activation is the input of the network's last activation at stride 32: for a ResNet the
residual sum before the last block's ReLU (the tap of the ResNet-101 teacher), for MobileNetV2 the
batch-normalised 1x1 conv 320 -> 1280 (``features.18``) before its ReLU6.

torchvision's MobileNetV2 is ``features.0`` (stem), ``features.1..17`` (inverted residual blocks),
``features.18`` (1x1 conv to 1280) and ``classifier``; mmdet's is ``conv1``, ``layer1..7`` (the blocks
grouped by stage, :data:`MOBILENET_V2_STAGES`) and ``conv2``, with named convs inside a block::

    features.0.0 / .0.1                    -> conv1.conv / conv1.bn
    features.1.conv.0.0 / .0.1             -> layer1.0.depthwise_conv.conv / .bn      (no expansion)
    features.1.conv.1 / .2                 -> layer1.0.linear_conv.conv / .bn
    features.2.conv.0.0 / .0.1             -> layer2.0.expand_conv.conv / .bn         (expansion 6)
    features.2.conv.1.0 / .1.1             -> layer2.0.depthwise_conv.conv / .bn
    features.2.conv.2 / .3                 -> layer2.0.linear_conv.conv / .bn
    ...
    features.18.0 / .1                     -> conv2.conv / conv2.bn
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from torch import Tensor, nn

from nst_det.utils.errors import NSTDetError
from nst_det.utils.weights import key_differences

# (expand_ratio, blocks) per stage: torchvision's inverted_residual_setting = mmdet's MobileNetV2.arch_settings
MOBILENET_V2_STAGES = ((1, 1), (6, 2), (6, 3), (6, 4), (6, 3), (6, 3), (6, 1))
_EXPANDING_BLOCK = {"conv.0.0": "expand_conv.conv", "conv.0.1": "expand_conv.bn", "conv.1.0": "depthwise_conv.conv",
                    "conv.1.1": "depthwise_conv.bn", "conv.2": "linear_conv.conv", "conv.3": "linear_conv.bn"}
_PLAIN_BLOCK = {"conv.0.0": "depthwise_conv.conv", "conv.0.1": "depthwise_conv.bn", "conv.1": "linear_conv.conv",
                "conv.2": "linear_conv.bn"}


def mobilenet_v2_modules() -> dict[str, str]:
    """torchvision MobileNetV2 module name -> mmdet ``MobileNetV2`` module name, for every conv and BN."""
    modules = {"features.0.0": "conv1.conv", "features.0.1": "conv1.bn"}
    index = 1
    for stage, (expand_ratio, blocks) in enumerate(MOBILENET_V2_STAGES, start=1):
        for block in range(blocks):
            inner = _EXPANDING_BLOCK if expand_ratio != 1 else _PLAIN_BLOCK
            modules.update({f"features.{index}.{tv}": f"layer{stage}.{block}.{mm}" for tv, mm in inner.items()})
            index += 1
    modules.update({f"features.{index}.0": "conv2.conv", f"features.{index}.1": "conv2.bn"})
    return modules


MOBILENET_V2_MODULES = mobilenet_v2_modules()


def mobilenet_v2_to_mmdet(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """A torchvision MobileNetV2 backbone state dict (no ``classifier.*``) in mmdet ``MobileNetV2`` keys."""
    out = {}
    for key, value in state_dict.items():
        module, _, param = key.rpartition(".")
        if module not in MOBILENET_V2_MODULES:
            raise NSTDetError(f"mobilenet_v2 export: key {key!r} has no place in mmdet's MobileNetV2 "
                              "(is it a MobileNetV2 with width_mult 1.0?)")
        out[f"{MOBILENET_V2_MODULES[module]}.{param}"] = value
    return out


@dataclass(frozen=True)
class StudentBackbone:
    """How a torchvision student classifier becomes an MMDetection backbone.

    Attributes:
        mmdet: the mmdet backbone config whose key layout the export has (``dict(type='ResNet', depth=50)``).
        head: key prefixes of the classifier head, left out of the export.
        final_tap: the default NST tap, the final pre-activation feature map (module docstring).
        to_mmdet: maps the backbone's torchvision keys to ``mmdet``'s (identity for ResNets).
    """

    mmdet: dict
    head: tuple[str, ...]
    final_tap: str
    to_mmdet: Callable[[Mapping[str, Tensor]], dict[str, Tensor]] = dict


def _resnet(depth: int, last_block: int) -> StudentBackbone:
    return StudentBackbone(dict(type="ResNet", depth=depth), ("fc.",), f"layer4.{last_block}.relu:input")


STUDENTS: dict[str, StudentBackbone] = {
    "resnet18": _resnet(18, 1), "resnet34": _resnet(34, 2), "resnet50": _resnet(50, 2),
    "resnet101": _resnet(101, 2), "resnet152": _resnet(152, 2),
    "mobilenet_v2": StudentBackbone(dict(type="MobileNetV2"), ("classifier.",), "features.18.2:input",
                                    mobilenet_v2_to_mmdet),
}
HEAD_PREFIXES = tuple(sorted({p for s in STUDENTS.values() for p in s.head}))


def student_spec(arch: str, where: str = "student") -> StudentBackbone:
    """The :class:`StudentBackbone` of ``arch``; one line naming the supported students otherwise."""
    if arch not in STUDENTS:
        raise NSTDetError(f"{where} arch {arch!r} has no MMDetection backbone to export to; "
                          f"students: {sorted(STUDENTS)}")
    return STUDENTS[arch]


def student_backbone(state_dict: Mapping[str, Tensor], arch: str) -> dict[str, Tensor]:
    """The student's weights without its classifier head, in the key layout of its mmdet backbone."""
    spec = student_spec(arch)
    return spec.to_mmdet({k: v for k, v in state_dict.items() if not k.startswith(spec.head)})


def build_mmdet_backbone(arch: str, init_cfg: Optional[dict] = None, **overrides) -> nn.Module:
    """The mmdet backbone ``arch`` exports to (``overrides``: e.g. ``out_indices``)."""
    from mmdet.registry import MODELS as MMDET_MODELS

    return MMDET_MODELS.build({**student_spec(arch).mmdet, **overrides, "init_cfg": init_cfg})


def check_against_mmdet_backbone(state_dict: Mapping[str, Tensor], arch: str) -> tuple[list[str], list[str]]:
    """``(missing, unexpected)`` keys of an export against the mmdet backbone of ``arch``
    (:func:`~nst_det.utils.weights.key_differences`: the tolerance of every other check)."""
    missing, unexpected, _ = key_differences(build_mmdet_backbone(arch).state_dict(), state_dict)
    return sorted(missing), sorted(unexpected)
