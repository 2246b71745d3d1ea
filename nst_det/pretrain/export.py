"""Export the student backbone for MMDetection: a plain tensor state dict plus a JSON sidecar.

The ``.pth`` holds ``{name: tensor}`` in torchvision/mmdet ResNet key layout, without the
classifier (``fc.*``); it loads with ``torch.load(weights_only=True)`` and with
``backbone.init_cfg=dict(type='Pretrained', checkpoint=PATH)`` into mmdet's ``ResNet``.
The sidecar ``<name>.json`` records how it was made (arch, teacher, taps, λ, epochs, top-1).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Union

from torch import Tensor

from nst_det.utils.checkpoint import atomic_save, atomic_write_bytes, read_checkpoint
from nst_det.utils.errors import NSTDetError
from nst_det.utils.weights import key_differences, state_dict_of, strip_prefix

ARCH_DEPTH = {"resnet18": 18, "resnet34": 34, "resnet50": 50, "resnet101": 101, "resnet152": 152}


def save_with_sidecar(state_dict: dict[str, Tensor], out: Union[str, Path], info: dict) -> Path:
    """Write ``state_dict`` to ``out`` and ``info`` to ``out`` with suffix ``.json``, both atomically."""
    out = Path(out)
    atomic_save({k: v.detach().cpu() for k, v in state_dict.items()}, out)
    atomic_write_bytes((json.dumps(info, indent=2, sort_keys=True) + "\n").encode(), out.with_suffix(".json"))
    return out


def export_backbone(state_dict: dict[str, Tensor], out: Union[str, Path], info: dict) -> Path:
    """:func:`save_with_sidecar` for a backbone: the classifier head must not be in it."""
    head = sorted(k for k in state_dict if k.startswith("fc."))
    if head:
        raise NSTDetError(f"a backbone export must not contain the classifier head, found {head}")
    return save_with_sidecar(state_dict, out, info)


def backbone_from_checkpoint(path: Union[str, Path]) -> tuple[dict[str, Tensor], dict]:
    """The student backbone and its distillation record from a ``pretrain_backbone.py`` checkpoint."""
    checkpoint = read_checkpoint(path, what="pretrain checkpoint")
    student = strip_prefix(state_dict_of(checkpoint, "pretrain checkpoint", path), "student.")
    if not student:
        raise NSTDetError(f"{path} is not a checkpoint written by tools/pretrain_backbone.py "
                          "(no 'student.*' weights in its state_dict)")
    backbone = {k: v for k, v in student.items() if not k.startswith("fc.")}
    info = dict(checkpoint.get("meta", {}).get("nst_det", {}))
    info["source_checkpoint"] = str(path)
    return backbone, info


def check_against_mmdet_resnet(state_dict: dict[str, Tensor], arch: str) -> tuple[list[str], list[str]]:
    """``(missing, unexpected)`` keys of ``state_dict`` against mmdet's ``ResNet(depth)``
    (:func:`~nst_det.utils.weights.key_differences`: the tolerance of every other check)."""
    from mmdet.models.backbones import ResNet

    if arch not in ARCH_DEPTH:
        raise NSTDetError(f"unknown architecture {arch!r}; choose one of {sorted(ARCH_DEPTH)}")
    missing, unexpected, _ = key_differences(ResNet(depth=ARCH_DEPTH[arch]).state_dict(), state_dict)
    return sorted(missing), sorted(unexpected)
