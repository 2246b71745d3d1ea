"""The teacher detector: config resolution and checked weight loading (frozen by :mod:`nst_det.distill.teacher`).

The distiller only runs the teacher's feature extractor (backbone + neck), so only those weights
must be in the teacher checkpoint; they are checked key by key and shape by shape (no missing, no
unexpected keys), which also catches a checkpoint of another architecture. Head weights in the
file are ignored.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Union

from mmengine.config import Config, ConfigDict
from torch import nn

from nst_det.registry import MODELS
from nst_det.utils.checkpoint import PathLike
from nst_det.utils.errors import NSTDetError
from nst_det.utils.weights import load_checked, read_state_dict, resolve_checkpoint, strip_prefix

ConfigLike = Union[PathLike, dict]
FEATURE_PARTS = ("backbone", "neck")


def config_file(name: PathLike) -> Path:
    """The file of a config name: a path, or ``package::dir/file.py`` as mim and mmengine's ``_base_`` take it
    (``mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py``: the config shipped in mmdet's ``.mim/configs``;
    ``mmpretrain::...`` where mmpretrain is installed).

    Raises:
        NSTDetError: the file does not exist, or the package is unknown to mmengine or not installed.
    """
    text = str(name)
    if "::" not in text:
        path = Path(text)
        if not path.is_file():
            raise NSTDetError(f"config file {path} does not exist")
        return path
    package = text.partition("::")[0]
    try:  # mmengine's own resolver for `package::` names in _base_ (it never installs anything)
        path, _ = Config._get_cfg_path(text, "")
    except ModuleNotFoundError:
        raise NSTDetError(f"config {text} is in the {package} package, which is not installed "
                          f"(pip install {package})") from None
    except (AssertionError, ValueError):
        raise NSTDetError(f"config {text}: '{package}::' is no package mmengine knows configs of; "
                          "write e.g. mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py") from None
    except FileNotFoundError:
        raise NSTDetError(f"config {text} does not exist in the installed {package}'s configs") from None
    if not Path(path).is_file():
        raise NSTDetError(f"config {text} does not exist in the installed {package}'s configs ({path})")
    return Path(path)


def load_model_config(config: ConfigLike, what: str = "teacher config") -> ConfigDict:
    """The ``model`` dict of a detector config.

    Args:
        config: a config file path (``'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'``
            package paths included), a whole config dict (with ``model``), or a model dict.
    """
    if isinstance(config, (str, os.PathLike)):
        try:
            cfg = Config.fromfile(str(config_file(config)))
        except NSTDetError as exc:
            raise NSTDetError(f"{what}: {exc}") from None
        model = cfg.get("model")
        if isinstance(model, dict):  # build in the config's scope even where no default scope is set
            model.setdefault("_scope_", cfg.get("default_scope") or "mmdet")
    elif isinstance(config, dict):
        model = config.get("model", config)
    else:
        raise NSTDetError(f"{what} must be a path or a dict, got {type(config).__name__}")
    if not isinstance(model, dict) or "type" not in model:
        raise NSTDetError(f"{what} {config if not isinstance(config, dict) else ''} has no model "
                          "dict with a 'type'".replace("  ", " "))
    return ConfigDict(copy.deepcopy(dict(model)))


def build_teacher(config: ConfigLike, checkpoint: PathLike) -> nn.Module:
    """Build the teacher detector and load its backbone and neck from ``checkpoint`` (the distiller freezes it).

    ``checkpoint`` may be a training work dir, a URL or a ``torchvision://`` name (see
    :func:`~nst_det.utils.weights.resolve_checkpoint`).

    ``init_weights()`` is never called on the teacher, so its ``init_cfg`` (e.g. a
    ``torchvision://`` backbone) is not downloaded or applied.

    Raises:
        NSTDetError: unreadable config/checkpoint, or a checkpoint whose backbone/neck keys or shapes
            differ from the teacher config's (a checkpoint of another model).
    """
    teacher = MODELS.build(load_model_config(config))
    checkpoint = resolve_checkpoint(checkpoint, what="teacher checkpoint")
    state_dict = read_state_dict(checkpoint, what="teacher checkpoint")
    for part in FEATURE_PARTS:
        module = getattr(teacher, part, None)
        if module is None:
            if part == "backbone":
                raise NSTDetError(f"teacher {type(teacher).__name__} has no backbone")
            continue
        prefix = f"{part}."
        weights = strip_prefix(state_dict, prefix)
        if not weights:
            raise NSTDetError(f"teacher checkpoint {checkpoint} has no '{prefix}*' keys: it is not a "
                              f"checkpoint of a detector like the teacher config's "
                              f"{type(teacher).__name__} (first keys: {list(state_dict)[:3]})")
        load_checked(module, weights, f"teacher checkpoint ({part})", checkpoint)
    return teacher


def preprocessing_of(model: nn.Module) -> dict:
    """How a detector's data preprocessor normalises images (mean, std, channel swap)."""
    pre = getattr(model, "data_preprocessor", None)
    info = {"normalize": bool(getattr(pre, "_enable_normalize", False)),
            "channel_swap": bool(getattr(pre, "_channel_conversion", False))}
    if info["normalize"]:
        info["mean"] = [round(float(v), 4) for v in pre.mean.flatten()]
        info["std"] = [round(float(v), 4) for v in pre.std.flatten()]
    return info


def check_same_preprocessing(student: nn.Module, teacher: nn.Module) -> None:
    """The teacher sees the student's preprocessed batch, so both must normalise alike."""
    s, t = preprocessing_of(student), preprocessing_of(teacher)
    if s != t:
        raise NSTDetError(f"the teacher normalises images differently from the student (teacher {t}, "
                          f"student {s}); the teacher is fed the student's preprocessed batch, so set "
                          "the teacher config's data_preprocessor mean/std/bgr_to_rgb to the student's")

