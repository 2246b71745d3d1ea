"""Checkpoint I/O: atomic writes, weights-only loads, and plain-data mmengine checkpoints.

* :func:`atomic_save` writes to a temporary file beside the target, fsyncs and renames it into
  place, so a killed run never leaves a half-written file under the final name.
* :func:`safe_load` always loads with ``weights_only=True`` and turns every failure into one
  :class:`NSTDetError` line naming the file.
* mmengine 0.10.7 pickles its ``MessageHub`` (``HistoryBuffer`` objects with bound methods) into
  resume checkpoints, which ``weights_only`` loading rightly refuses. :class:`PlainCheckpointHook`
  rewrites them as plain tensors/lists before saving and rebuilds them after loading, so resume,
  ``load_from`` and stock mmdet tools read our checkpoints without switching the safe loader off.
* :class:`AtomicLocalBackend` (mmengine file backend ``'atomic_local'``) makes mmengine's own
  checkpoint writes (``CheckpointHook``: ``epoch_N.pth`` and ``last_checkpoint``) atomic. A write
  that fails (disk full, quota, file size limit) removes its temporary file and stops the run with
  one line naming the file and the last complete checkpoint.
* :func:`checkpoint_bytes` and :func:`check_free_space` let a run refuse to start in a work dir
  that cannot hold one checkpoint.
"""
from __future__ import annotations

import io
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Union

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from nst_det.registry import HOOKS
from nst_det.utils.errors import NSTDetError

PathLike = Union[str, os.PathLike]
_HISTORY_BUFFER = "__history_buffer__"
_NDARRAY = "__ndarray__"


def atomic_write_bytes(data: bytes, path: PathLike) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it and rename it to ``path``.

    Raises:
        NSTDetError: when the file system refuses the write (no space, quota, size limit,
            permissions); the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise NSTDetError(f"cannot write {path} ({len(data) / 2**20:.1f} MiB): "
                              f"{exc.strerror or exc}; {path.name} was left as it was") from None
        raise


def last_complete_checkpoint(work_dir: PathLike) -> str:
    """What ``<work_dir>/last_checkpoint`` names, or ``"none written yet"``."""
    last = Path(work_dir) / "last_checkpoint"
    return last.read_text().strip() if last.is_file() else "none written yet"


def checkpoint_bytes(model: torch.nn.Module, optimizers: Iterable[torch.optim.Optimizer] = ()) -> tuple[int, int]:
    """Estimated bytes of a training checkpoint: ``(state_dict bytes, optimizer state bytes)``.

    Optimizer state counts one tensor the size of each parameter per "slot": SGD with momentum
    1 (0 without), Adam/AdamW 2 (3 with ``amsgrad``), anything else 2.
    """
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values() if isinstance(t, torch.Tensor))
    state = 0
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            if type(optimizer).__name__ == "SGD":
                slots = 1 if group.get("momentum", 0) else 0
            elif type(optimizer).__name__ in ("Adam", "AdamW"):
                slots = 3 if group.get("amsgrad") else 2
            else:
                slots = 2
            state += slots * sum(p.numel() * p.element_size() for p in group["params"])
    return weights, state


def check_free_space(work_dir: PathLike, needed: int, what: str = "one checkpoint of this run") -> None:
    """Raise :class:`NSTDetError` unless ``work_dir``'s file system has ``needed`` bytes free."""
    free = shutil.disk_usage(work_dir).free
    if free < needed:
        raise NSTDetError(f"work dir {work_dir} has {free / 2**20:.0f} MiB free, but {what} needs about "
                          f"{needed / 2**20:.0f} MiB: free some space or pass another --work-dir")


def atomic_save(obj: Any, path: PathLike) -> None:
    """``torch.save`` to ``path`` atomically (temporary file + fsync + rename)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(buffer.getvalue(), path)


def safe_load(path: PathLike, map_location: Any = "cpu", what: str = "checkpoint") -> Any:
    """Load ``path`` with ``torch.load(weights_only=True)``; every failure is one clear error.

    Args:
        path: the file.
        map_location: as for ``torch.load``.
        what: what the file is supposed to be, for messages ("teacher checkpoint", ...).
    """
    path = Path(path)
    if not path.is_file():
        raise NSTDetError(f"{what} {path} does not exist" if not path.exists() else f"{what} {path} is not a file")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = str(exc).strip().splitlines()[0]
        raise NSTDetError(
            f"{what} {path} holds more than plain tensors and containers; refusing to unpickle it, "
            f"since that could run arbitrary code ({reason})") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NSTDetError(f"{what} {path} is not a readable PyTorch checkpoint "
                          f"(truncated or corrupt?): {reason}") from None


# ----------------------------------------------------------------------------- plain data
def to_plain(obj: Any, where: str = "checkpoint") -> Any:
    """Recursively replace ``HistoryBuffer`` and numpy values with tensors/containers.

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
        return {_NDARRAY: torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: to_plain(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        items = [to_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else tuple(items)
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


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Save mmengine checkpoints as plain data and restore them on load (resume, ``load_from``).

    Runs last among the ``before_save_checkpoint`` hooks so it also converts what other hooks add.
    """

    priority = "VERY_LOW"

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in list(checkpoint):
            if key != "state_dict":
                checkpoint[key] = to_plain(checkpoint[key], key)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in list(checkpoint):
            if key != "state_dict":
                checkpoint[key] = from_plain(checkpoint[key])


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic ``put``/``put_text`` (temporary file + rename)."""

    def put(self, obj: bytes, filepath: PathLike) -> None:
        try:
            atomic_write_bytes(obj, filepath)
        except NSTDetError as exc:
            kept = last_complete_checkpoint(Path(filepath).parent)
            raise NSTDetError(f"{exc}. Training stopped; last complete checkpoint: {kept}") from None

    def put_text(self, obj: str, filepath: PathLike, encoding: str = "utf-8") -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)


register_backend("atomic_local", AtomicLocalBackend, force=True)
