"""Backbone weight files of detectors, checked up front.

mmengine's ``Pretrained`` init and ``load_checkpoint(strict=False)`` only *warn* when a file does
not cover a module, and leave the uncovered weights random. :func:`check_backbone_file` reads the
file with the one checked-loading path (:mod:`nst_det.utils.weights`) and raises one
:class:`NSTDetError` that names the file and the offending keys.
"""
from __future__ import annotations

from typing import Optional

from torch import nn

from nst_det.utils.weights import check_state_dict, read_state_dict


def pretrained_init(module: nn.Module) -> Optional[dict]:
    """The ``Pretrained`` entry of a module's ``init_cfg`` (a dict or a list of dicts), if any."""
    init_cfg = getattr(module, "init_cfg", None)
    for entry in init_cfg if isinstance(init_cfg, list) else [init_cfg]:
        if isinstance(entry, dict) and entry.get("type") == "Pretrained":
            return entry
    return None


def check_backbone_file(backbone: nn.Module) -> Optional[str]:
    """Check that the file in ``backbone.init_cfg`` (``type='Pretrained'``) covers ``backbone``.

    URL and model-zoo names (``https://``, ``torchvision://``, ``open-mmlab://``) are not checked here: mmengine
    loads them through the project's download and reader (:mod:`nst_det.engine.remote_checkpoints`), and stock
    configs name such files for backbones that convert the keys themselves (Swin, for one).

    Returns:
        The checked file path, or ``None`` when there is no local ``Pretrained`` file to check.

    Raises:
        NSTDetError: the file is missing, unreadable, or lacks (or mis-shapes) backbone keys.
    """
    init = pretrained_init(backbone)
    if init is None or "://" in str(init.get("checkpoint", "")):
        return None
    path = init["checkpoint"]
    state_dict = read_state_dict(path, what="backbone file", prefix=init.get("prefix") or "")
    check_state_dict(backbone, state_dict, "backbone file", path, allow_unexpected=True)
    return str(path)
