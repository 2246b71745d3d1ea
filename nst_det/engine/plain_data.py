"""Plain-data checkpoints: mmengine's objects as tensors, numbers and containers, and back.

* :func:`to_plain` / :func:`from_plain` turn mmengine's ``MessageHub`` objects (``HistoryBuffer``) and numpy
  values into plain data and back (:class:`~nst_det.engine.hooks.PlainCheckpointHook` applies them to every
  checkpoint a run writes and reads), so the files load with ``torch.load(weights_only=True)``.
* :func:`convert_checkpoint` (``tools/convert_checkpoint.py``) rewrites any checkpoint the safe reader accepts
  (:func:`~nst_det.utils.checkpoint.read_checkpoint`) as such plain data.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from nst_det.utils.checkpoint import PathLike, atomic_save, first_line, read_checkpoint
from nst_det.utils.errors import NSTDetError
from nst_det.utils.weights import student_state_dict

_HISTORY_BUFFER = "__history_buffer__"
_NDARRAY = "__ndarray__"


def to_plain(obj: Any, where: str = "checkpoint", tag_arrays: bool = True) -> Any:
    """Recursively replace ``HistoryBuffer`` and numpy values with tensors/containers.

    Args:
        obj: what to convert.
        where: its key path, for messages.
        tag_arrays: store a numpy array as ``{'__ndarray__': tensor}`` so :func:`from_plain` gives
            the array back; ``False`` stores the tensor itself (for files other tools read).

    Raises:
        NSTDetError: for an object that has no plain-data form (the key path is named).
    """
    if isinstance(obj, HistoryBuffer):
        log, count = obj.data
        return {_HISTORY_BUFFER: True, "log": torch.as_tensor(np.asarray(log, dtype=np.float64)),
                "count": torch.as_tensor(np.asarray(count, dtype=np.float64)), "max_length": obj.max_length}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise NSTDetError(f"cannot store {where}: a numpy object array has no plain-data form")
        tensor = torch.from_numpy(np.ascontiguousarray(obj))
        return {_NDARRAY: tensor} if tag_arrays else tensor
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.dtype):
        return str(obj)
    if isinstance(obj, dict):
        return {k: to_plain(v, f"{where}.{k}", tag_arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = [to_plain(v, f"{where}[{i}]", tag_arrays) for i, v in enumerate(obj)]
        return tuple(items) if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, (bool, int, float, str, bytes, torch.Tensor, torch.dtype,
                                       torch.device, torch.Size)):
        return obj
    raise NSTDetError(f"cannot store {where}: {type(obj).__module__}.{type(obj).__qualname__} "
                      "is not plain data (tensors, numbers, strings, lists, dicts)")


def from_plain(obj: Any) -> Any:
    """Inverse of :func:`to_plain`."""
    if isinstance(obj, dict):
        if obj.get(_HISTORY_BUFFER) is True:
            return HistoryBuffer(obj["log"].numpy().tolist(), obj["count"].numpy().tolist(), obj["max_length"])
        if set(obj) == {_NDARRAY}:
            return obj[_NDARRAY].numpy()
        return {k: from_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(from_plain(v) for v in obj)
    return obj


def convert_checkpoint(src: PathLike, dst: PathLike, student_only: bool = False) -> list[str]:
    """Rewrite any checkpoint :func:`~nst_det.utils.checkpoint.read_checkpoint` accepts as plain data, atomically.

    The output loads with ``torch.load(weights_only=True)``: what stock mmengine/mmdet tools do on
    torch >= 2.6. Skipped objects (e.g. the message hub's ``HistoryBuffer`` history) are left out,
    numpy values become numbers and tensors.

    Args:
        src: the checkpoint to read.
        dst: where to write.
        student_only: keep only the student of a distiller checkpoint
            (:func:`~nst_det.utils.weights.student_state_dict`) and its ``meta``; training state (optimizer,
            schedulers, message hub) is dropped.

    Returns:
        One line per step taken, for the user.
    """
    checkpoint = read_checkpoint(src, what="input checkpoint")
    notes = []
    if not isinstance(checkpoint, dict):
        raise NSTDetError(f"input checkpoint {src} holds a {type(checkpoint).__name__}, not a dict of weights")
    has_wrapper = isinstance(checkpoint.get("state_dict"), dict)
    state_dict = checkpoint["state_dict"] if has_wrapper else checkpoint
    if student_only:
        if not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
            raise NSTDetError(f"input checkpoint {src}: --student-only needs a state dict of tensors")
        state_dict, note = student_state_dict(state_dict)
        notes.append(note)
        checkpoint = {"state_dict": state_dict, "meta": checkpoint.get("meta", {})} if has_wrapper else state_dict
    if has_wrapper:  # the state dict stays as it is (an OrderedDict with _metadata); the rest becomes data
        plain = {k: v if k == "state_dict" else to_plain(v, k, tag_arrays=False) for k, v in checkpoint.items()}
    else:
        plain = to_plain(checkpoint, "state_dict", tag_arrays=False)
    atomic_save(plain, dst)
    try:
        torch.load(dst, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  a bug here, not the user's: say so plainly
        raise NSTDetError(f"{dst} was written but does not load with weights_only=True ({first_line(exc)})") from None
    notes.append(f"wrote {dst}: {len(state_dict)} tensors; torch.load(weights_only=True) reads it")
    return notes
