"""Weight files for detectors: safe loading (:func:`~nst_det.utils.checkpoint.read_checkpoint`) and key checks that fail loudly.

mmengine's ``Pretrained`` init and ``load_checkpoint(strict=False)`` only *warn* when a file does
not cover a module, and leave the uncovered weights random. The functions here compare a file's
keys and shapes with a module's ``state_dict()`` and raise one :class:`NSTDetError` that names the
file and the offending keys.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

from torch import Tensor, nn

from nst_det.utils.checkpoint import read_checkpoint
from nst_det.utils.errors import NSTDetError

PathLike = Union[str, os.PathLike]
_SHOW_KEYS = 8  # keys listed in a message before "... and N more"


def resolve_checkpoint(path: PathLike) -> Path:
    """``path`` itself, or for a work dir the checkpoint its ``last_checkpoint`` file names.

    mmengine's ``CheckpointHook`` writes ``last_checkpoint`` (the path of the newest complete
    checkpoint), so a config can name a teacher by its training work dir, whatever its schedule.
    """
    path = Path(path)
    marker = path / "last_checkpoint"
    if not path.is_dir():
        return path
    if not marker.is_file():
        raise NSTDetError(f"{path} is a folder without a last_checkpoint file; name a checkpoint file")
    named = Path(marker.read_text().strip())
    # the file holds the path as training saw it; if that was relative to another cwd, look beside it
    return named if named.is_file() or not (path / named.name).is_file() else path / named.name


def load_weights(path: PathLike, what: str = "checkpoint", prefix: str = "") -> dict[str, Tensor]:
    """Read a state dict with :func:`~nst_det.utils.checkpoint.read_checkpoint` (never runs pickled code).

    Accepts a bare ``{name: tensor}`` dict or an mmengine/mmdet checkpoint (``{'state_dict': ...}``);
    a leading ``module.`` (DDP) is removed from every key.

    Args:
        path: the file.
        what: what the file is meant to be, for messages ("teacher checkpoint", ...).
        prefix: keep only keys starting with ``prefix`` and strip it (``'backbone.'`` selects the
            backbone of a whole-detector checkpoint, as ``Pretrained(prefix=...)`` does).

    Returns:
        ``{name: tensor}``.
    """
    checkpoint = read_checkpoint(path, what=what)
    state_dict = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict) or not all(isinstance(v, Tensor) for v in state_dict.values()):
        raise NSTDetError(f"{what} {path} is not a state dict ({{name: tensor}}) nor a checkpoint "
                          "holding one under 'state_dict'")
    state_dict = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state_dict.items()}
    if prefix:
        state_dict = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
        if not state_dict:
            raise NSTDetError(f"{what} {path} has no keys starting with {prefix!r}")
    return state_dict


def _listing(keys: list[str]) -> str:
    shown = ", ".join(repr(k) for k in keys[:_SHOW_KEYS])
    return shown + (f" ... and {len(keys) - _SHOW_KEYS} more" if len(keys) > _SHOW_KEYS else "")


def check_covers(module: nn.Module, state_dict: dict[str, Tensor], what: str, path: PathLike,
                 allow_unexpected: bool = True) -> None:
    """Raise unless ``state_dict`` has every key of ``module.state_dict()`` with the same shape.

    Args:
        module: the module the weights are for.
        state_dict: the file's weights, keys relative to ``module``.
        what, path: for the message ("backbone file", "/x/backbone_resnet18.pth").
        allow_unexpected: tolerate extra keys (a classifier's ``fc.*`` in a backbone file).

    Raises:
        NSTDetError: listing missing keys, shape mismatches and (if not allowed) unexpected keys.
    """
    expected = module.state_dict()
    # BatchNorm fills a missing counter itself (files saved before PyTorch 0.4.1 lack it)
    missing = [k for k in expected if k not in state_dict and not k.endswith("num_batches_tracked")]
    unexpected = [] if allow_unexpected else [k for k in state_dict if k not in expected]
    mismatched = [f"{k} (file {tuple(state_dict[k].shape)}, model {tuple(v.shape)})"
                  for k, v in expected.items() if k in state_dict and state_dict[k].shape != v.shape]
    problems = []
    if missing:
        problems.append(f"{len(missing)} of {len(expected)} keys missing: {_listing(missing)}")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches: {_listing(mismatched)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys: {_listing(unexpected)}")
    if problems:
        raise NSTDetError(f"{what} {path} does not fit the {type(module).__name__} it is loaded into: "
                          + "; ".join(problems))


def pretrained_init(module: nn.Module) -> Optional[dict]:
    """The ``Pretrained`` entry of a module's ``init_cfg`` (a dict or a list of dicts), if any."""
    init_cfg = getattr(module, "init_cfg", None)
    for entry in init_cfg if isinstance(init_cfg, list) else [init_cfg]:
        if isinstance(entry, dict) and entry.get("type") == "Pretrained":
            return entry
    return None


def check_backbone_file(backbone: nn.Module) -> Optional[str]:
    """Check that the file in ``backbone.init_cfg`` (``type='Pretrained'``) covers ``backbone``.

    ``torchvision://`` / ``open-mmlab://`` / ``http(s)://`` model-zoo names are left to mmengine.

    Returns:
        The checked file path, or ``None`` when there is no local ``Pretrained`` file to check.

    Raises:
        NSTDetError: the file is missing, unreadable, or lacks (or mis-shapes) backbone keys.
    """
    init = pretrained_init(backbone)
    if init is None or "://" in str(init.get("checkpoint", "")):
        return None
    path = init["checkpoint"]
    state_dict = load_weights(path, what="backbone file", prefix=init.get("prefix") or "")
    check_covers(backbone, state_dict, "backbone file", path)
    return str(path)
