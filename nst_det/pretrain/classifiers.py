"""Classifiers by name: any torchvision classification model (``torchvision.models.get_model`` names).

Teachers may be any of them (``resnet101``, ``efficientnet_b0``, ``convnext_tiny``, ``mobilenet_v3_large``,
...): NST taps are named modules (:mod:`nst_det.taps`), which every network has. Students are the ones with an
MMDetection backbone to export to (:mod:`nst_det.pretrain.students`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

import torchvision
from torch import nn

from nst_det.utils.errors import NSTDetError
from nst_det.utils.weights import load_checked, read_classifier_state_dict

CLASSIFIERS: tuple[str, ...] = tuple(sorted(torchvision.models.list_models(module=torchvision.models)))


def build_classifier(arch: str, num_classes: int) -> nn.Module:
    """A randomly initialised torchvision classifier (``arch`` like ``"resnet18"``) with ``num_classes`` logits."""
    if arch not in CLASSIFIERS:
        raise NSTDetError(f"unknown architecture {arch!r}; choose a torchvision classification model: "
                          f"{list(CLASSIFIERS)}")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise NSTDetError(f"num_classes must be a positive integer, got {num_classes!r}")
    return torchvision.models.get_model(arch, weights=None, num_classes=num_classes)


def load_classifier_weights(model: nn.Module, path: Union[str, Path], arch: str,
                            what: str = "teacher checkpoint") -> str:
    """Load ``path`` (any format :func:`~nst_det.utils.weights.read_classifier_state_dict` reads) into ``model``;
    any missing, unexpected or mis-shaped key is an error.

    Returns:
        The detected checkpoint format.
    """
    state_dict, fmt = read_classifier_state_dict(path, what)
    load_checked(model, state_dict, what, f"{path} ({fmt} format)", name=arch,
                 hint="Is it a checkpoint of another architecture or number of classes?")
    return fmt
