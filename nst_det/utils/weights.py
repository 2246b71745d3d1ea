"""One checked-loading path: read a state dict from any supported file, check it against a module.

* :func:`read_state_dict` reads a ``{name: tensor}`` dict from a file through the one safe reader
  (:func:`~nst_det.utils.checkpoint.read_checkpoint`): a bare state dict, an mmengine/mmdet
  checkpoint (``{'state_dict': ...}``) or a ``{'model': ...}`` file; a DDP ``module.`` prefix is
  removed, and ``prefix`` (``'backbone.'``, ``'student.'``) selects and strips a part.
* :func:`read_classifier_state_dict` adds format detection for classifiers (torchvision, mmpretrain/mmcls
  ResNets, nst_det training checkpoints, DDP) and maps them to torchvision's key layout.
* :func:`key_differences` / :func:`check_state_dict` compare keys and shapes with one tolerance
  everywhere: a missing ``num_batches_tracked`` is filled in by BatchNorm itself (files saved before
  PyTorch 0.4.1 lack it); any other missing, mis-shaped or (unless allowed) unexpected key is an error
  naming the file. :func:`load_checked` checks, then loads.
* :func:`resolve_checkpoint`: the file a checkpoint name means (a file, a training work dir, a URL).
* :data:`STUDENT_PREFIX` and :func:`student_state_dict`: where a distiller checkpoint keeps its student.
* :func:`unwrap_model`: the module inside a DDP/mmengine model wrapper.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional

import torch
from torch import Tensor, nn

from nst_det.utils.checkpoint import LAST_CHECKPOINT, PathLike, last_checkpoint, read_checkpoint
from nst_det.utils.download import fetch, is_remote, local_file
from nst_det.utils.errors import NSTDetError

DDP_PREFIX = "module."
# where a distiller checkpoint keeps its student: under ClassifierDistiller's `student` attribute (the checkpoints of
# tools/pretrain_backbone.py); mmrazor's distillers keep it under `architecture.`, teachers under TEACHER_PREFIXES
STUDENT_PREFIX = "student."
STUDENT_PREFIXES = (STUDENT_PREFIX, "architecture.")
TEACHER_PREFIXES = ("teacher.", "teachers.", "distiller.")  # nst_det, mmrazor (SingleTeacherDistill)
OPTIONAL_KEYS = ("num_batches_tracked",)  # BatchNorm fills a missing counter itself
_SHOW_KEYS = 8  # keys listed in a message before "... and N more"


def _wrapper_types() -> tuple[type, ...]:
    wrappers: tuple[type, ...] = (nn.DataParallel, nn.parallel.DistributedDataParallel)
    if torch.distributed.is_available():
        from torch.distributed.fsdp import FullyShardedDataParallel

        wrappers += (FullyShardedDataParallel,)
    return wrappers


def unwrap_model(model: nn.Module) -> nn.Module:
    """``model.module`` for a data-parallel wrapper, else ``model``.

    The wrappers: torch's ``DataParallel``, ``DistributedDataParallel`` and ``FullyShardedDataParallel``, and
    so every wrapper mmengine registers (``MMDistributedDataParallel``, ``MMSeparateDistributedDataParallel``,
    ``MMFullyShardedDataParallel`` subclass them).
    """
    return model.module if isinstance(model, _wrapper_types()) else model


def resolve_checkpoint(path: PathLike, what: str = "checkpoint") -> Path:
    """``path`` itself; for a work dir the checkpoint its ``last_checkpoint`` file names
    (:func:`~nst_det.utils.checkpoint.last_checkpoint`); for a URL or ``torchvision://`` name its file in torch's
    hub cache (downloaded once, :func:`~nst_det.utils.download.fetch`).

    A config can so name a teacher by its training work dir, whatever its schedule. ``last_checkpoint`` holds the
    path as training saw it; when that was relative to another working directory, the file of that name beside
    the marker is taken.

    Raises:
        NSTDetError: a folder without a ``last_checkpoint`` file.
    """
    if is_remote(path):
        return fetch(path, what=what)
    path = Path(path)
    if not path.is_dir():
        return path
    named = last_checkpoint(path)
    if named is None:
        raise NSTDetError(f"{path} is a folder without a {LAST_CHECKPOINT} file; name a checkpoint file")
    return named if named.is_file() or not (path / named.name).is_file() else path / named.name


def strip_prefix(state_dict: Mapping[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """The keys starting with ``prefix``, without it."""
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


def state_dict_of(checkpoint: object, what: str, path: PathLike) -> dict[str, Tensor]:
    """The ``{name: tensor}`` dict a read checkpoint holds (itself, or under ``state_dict`` / ``model``)."""
    if isinstance(checkpoint, dict):
        for key in ("state_dict", "model"):
            if isinstance(checkpoint.get(key), dict):
                checkpoint = checkpoint[key]
                break
    if (not isinstance(checkpoint, dict) or not checkpoint
            or not all(isinstance(v, Tensor) for v in checkpoint.values())):
        raise NSTDetError(f"{what} {path} is not a state dict ({{name: tensor}}) nor a checkpoint "
                          "holding one under 'state_dict'")
    return {k[len(DDP_PREFIX):] if k.startswith(DDP_PREFIX) else k: v for k, v in checkpoint.items()}


def read_state_dict(path: PathLike, what: str = "checkpoint", prefix: str = "") -> dict[str, Tensor]:
    """Read a state dict from any supported file (never runs pickled code).

    Args:
        path: the file, or a URL / ``torchvision://`` name (downloaded once, :mod:`nst_det.utils.download`).
        what: what the file is meant to be, for messages ("teacher checkpoint", ...).
        prefix: keep only keys starting with ``prefix`` and strip it (``'backbone.'`` selects the
            backbone of a whole-detector checkpoint, as ``Pretrained(prefix=...)`` does).
    """
    state_dict = state_dict_of(read_checkpoint(local_file(path, what), what=what), what, path)
    if prefix:
        state_dict = strip_prefix(state_dict, prefix)
        if not state_dict:
            raise NSTDetError(f"{what} {path} has no keys starting with {prefix!r}")
    return state_dict


def student_state_dict(state_dict: dict[str, Tensor]) -> tuple[dict[str, Tensor], str]:
    """A distiller's student weights: teacher/distiller keys removed, a common student prefix stripped.

    Returns:
        ``(state_dict, what was done)``.
    """
    kept = {k: v for k, v in state_dict.items() if not k.startswith(TEACHER_PREFIXES)}
    notes = [f"removed {len(state_dict) - len(kept)} teacher/distiller keys"] if len(kept) < len(state_dict) else []
    for prefix in STUDENT_PREFIXES:
        if kept and all(k.startswith(prefix) for k in kept):
            kept = {k[len(prefix):]: v for k, v in kept.items()}
            notes.append(f"stripped the {prefix!r} prefix")
            break
    return kept, "; ".join(notes) or "no teacher found: the state dict is kept as it is"


def _from_mmpretrain(sd: dict) -> dict:
    return {**strip_prefix(sd, "backbone."), **{"fc." + k: v for k, v in strip_prefix(sd, "head.fc.").items()}}


# Classifier checkpoint formats, tried in order: (does this state dict look like it?, map its keys to torchvision's)
CLASSIFIER_FORMATS: dict[str, tuple[Callable[[dict], bool], Callable[[dict], dict]]] = {
    # ours: a ClassifierDistiller training checkpoint (student.*)
    "nst_det": (lambda sd: any(k.startswith(STUDENT_PREFIX) for k in sd), lambda sd: strip_prefix(sd, STUDENT_PREFIX)),
    # mmpretrain / mmcls ImageClassifier: backbone.* + head.fc.*
    "mmpretrain": (lambda sd: any(k.startswith("backbone.") for k in sd), _from_mmpretrain),
    # anything else: torchvision's own layout (any torchvision.models classifier, also saved from DDP), or one
    # of our ResNet exports; loading checks every key against the model
    "torchvision": (lambda sd: True, dict),
}


def read_classifier_state_dict(path: PathLike, what: str = "teacher checkpoint") -> tuple[dict[str, Tensor], str]:
    """A classifier state dict in torchvision key layout from any supported checkpoint (:data:`CLASSIFIER_FORMATS`).

    Returns:
        ``(state_dict, format name)``.
    """
    state_dict = read_state_dict(path, what)
    name, convert = next((name, convert) for name, (matches, convert) in CLASSIFIER_FORMATS.items()
                         if matches(state_dict))
    return convert(state_dict), name


def key_differences(expected: Mapping[str, Tensor], state_dict: Mapping[str, Tensor],
                    optional: Iterable[str] = ()) -> tuple[list[str], list[str], list[str]]:
    """``(missing, unexpected, mis-shaped)`` keys of ``state_dict`` against ``expected``.

    Missing keys ending in :data:`OPTIONAL_KEYS`, or starting with one of ``optional``, are not reported.
    """
    optional = tuple(optional)
    missing = [k for k in expected if k not in state_dict and not k.endswith(OPTIONAL_KEYS)
               and not (optional and k.startswith(optional))]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = [f"{k} (file {tuple(state_dict[k].shape)}, model {tuple(v.shape)})"
                  for k, v in expected.items() if k in state_dict and state_dict[k].shape != v.shape]
    return missing, unexpected, mismatched


def _listing(keys: list[str]) -> str:
    shown = ", ".join(repr(k) for k in keys[:_SHOW_KEYS])
    return shown + (f" ... and {len(keys) - _SHOW_KEYS} more" if len(keys) > _SHOW_KEYS else "")


def check_state_dict(module: nn.Module, state_dict: Mapping[str, Tensor], what: str, path: PathLike,
                     allow_unexpected: bool = False, optional: Iterable[str] = (), name: Optional[str] = None,
                     hint: str = "") -> None:
    """Raise unless ``state_dict`` has every key of ``module.state_dict()`` with the same shape.

    Args:
        module: the module the weights are for.
        state_dict: the file's weights, keys relative to ``module``.
        what, path: for the message ("backbone file", "/x/backbone_resnet18.pth").
        allow_unexpected: tolerate extra keys (a classifier's ``fc.*`` in a backbone file).
        optional: key prefixes that may be missing (a backbone export has no ``fc.``).
        name: what the module is, for the message (default its class name).
        hint: appended to the message ("Is it a checkpoint of another architecture?").

    Raises:
        NSTDetError: one line listing missing keys, shape mismatches and (if not allowed) unexpected keys.
    """
    expected = module.state_dict()
    missing, unexpected, mismatched = key_differences(expected, state_dict, optional)
    problems = []
    if missing:
        problems.append(f"{len(missing)} of {len(expected)} keys missing: {_listing(missing)}")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches: {_listing(mismatched)}")
    if unexpected and not allow_unexpected:
        problems.append(f"{len(unexpected)} unexpected keys: {_listing(unexpected)}")
    if problems:
        raise NSTDetError(f"{what} {path} does not fit the {name or type(module).__name__} it is loaded into: "
                          + "; ".join(problems) + (f". {hint}" if hint else ""))


def load_checked(module: nn.Module, state_dict: Mapping[str, Tensor], what: str, path: PathLike,
                 allow_unexpected: bool = False, optional: Iterable[str] = (), name: Optional[str] = None,
                 hint: str = "") -> None:
    """:func:`check_state_dict`, then ``module.load_state_dict`` (strict unless something may differ)."""
    optional = tuple(optional)
    check_state_dict(module, state_dict, what, path, allow_unexpected, optional, name, hint)
    module.load_state_dict(dict(state_dict), strict=not (allow_unexpected or optional))
