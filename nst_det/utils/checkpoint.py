"""Checkpoint I/O: one safe reader for every file a tool reads, atomic writes, plain-data checkpoints.

* :func:`read_checkpoint` reads any checkpoint a user holds without ever executing pickled code: the
  interpreter of :mod:`nst_det.utils.reader` (tensors, containers, numpy values made afresh; every
  other object skipped, hostile names refused). :mod:`nst_det.engine` registers
  :func:`load_from_local` as mmengine's loader for local files, so ``load_from``, ``--resume`` and
  ``Pretrained`` backbone files take the same path.
* :func:`atomic_save` writes to a temporary file beside the target, fsyncs and renames it into
  place, so a killed run never leaves a half-written file under the final name.
* :func:`to_plain` / :func:`from_plain` turn mmengine's ``MessageHub`` objects into plain data and
  back (``nst_det.engine.hooks.PlainCheckpointHook`` applies them to every checkpoint).
* :func:`checkpoint_bytes` and :func:`check_free_space` let a run refuse to start in a work dir
  that cannot hold one checkpoint.
"""
from __future__ import annotations

import collections
import io
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log

from nst_det.utils import reader
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


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CONVERTER = "tools/convert_checkpoint.py"
_SHOW_SKIPPED = 4  # key paths named per kind of skipped object


def _first_line(exc: BaseException) -> str:
    """An exception's first line without terminal escape codes (torch colours its advice)."""
    text = _ANSI_ESCAPE.sub("", str(exc)).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def describe_skipped(skipped: list[tuple[str, str]]) -> str:
    """``[(path, qualname), ...]`` as ``"3 HistoryBuffer under message_hub.log_scalars (train/lr, ...)"``."""
    groups: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for path, qualname in skipped:
        parent, _, leaf = path.rpartition(".")
        groups[(qualname, parent or "<top level>")].append(leaf or path)
    parts = []
    for (qualname, parent), leaves in groups.items():
        shown = ", ".join(leaves[:_SHOW_SKIPPED]) + (", ..." if len(leaves) > _SHOW_SKIPPED else "")
        parts.append(f"{len(leaves)} {qualname} under {parent} ({shown})")
    return "; ".join(parts)


def read_checkpoint(path: PathLike, map_location: Any = "cpu", what: str = "checkpoint") -> Any:
    """Read any checkpoint file as data; nothing in it is ever executed.

    The file is interpreted by :mod:`nst_det.utils.reader` (no ``torch.load``, no ``pickle``): tensors
    of every dtype, plain containers and numeric numpy values are made afresh; every other object
    (mmengine's ``HistoryBuffer``, a user's class) is skipped and left out, and one log line says what
    was skipped under which key. Names only an attack needs, TorchScript archives, odd archive members
    and files over the reader's budgets are refused.

    Args:
        path: the file.
        map_location: as for ``torch.load``.
        what: what the file is supposed to be, for messages ("teacher checkpoint", ...).

    Raises:
        NSTDetError: a missing or unreadable file, or one the reader refuses; one line saying what
            the file is, what was found, what to do.
    """
    path = Path(path)
    if not path.exists():
        raise NSTDetError(f"{what} {path} does not exist")
    if not path.is_file():
        raise NSTDetError(f"{what} {path} is not a file (a directory, FIFO or device): nothing was read")
    try:
        checkpoint, skipped = reader.read_file(path, map_location=map_location)
    except reader.Hostile as exc:
        raise NSTDetError(
            f"{what} {path} refers to {exc.qualname}, which no checkpoint needs and an attack would use: "
            f"refusing it (nothing in it was run): {exc.reason}. Use weights from a source you trust") from None
    except reader.Refused as exc:
        raise NSTDetError(f"{what} {path} cannot be read as data ({_first_line(exc)}); nothing in it was run. "
                          + (exc.advice or "Re-save the weights as a plain state dict "
                                           "(torch.save(model.state_dict(), PATH))")) from None
    except (reader.Corrupt, OSError, EOFError) as exc:
        raise _unreadable(what, path, exc) from None
    except (RecursionError, MemoryError) as exc:
        raise NSTDetError(f"{what} {path} cannot be read as data ({type(exc).__name__}); nothing in it was run") \
            from None
    except Exception as exc:  # noqa: BLE001  a damaged file can make any library call fail: one line, no traceback
        raise _unreadable(what, path, exc) from None
    if skipped:
        print_log(f"{what} {path}: read as data; skipped {len(skipped)} object(s) that are not data: "
                  f"{describe_skipped(skipped)}. To make the file loadable by stock tools on torch>=2.6: "
                  f"python {CONVERTER} {path} OUT.pth", logger="current")
    return checkpoint


def _unreadable(what: str, path: Path, exc: BaseException) -> NSTDetError:
    detail = _first_line(exc) if isinstance(exc, reader.ReaderError) else f"{type(exc).__name__}: {_first_line(exc)}"
    return NSTDetError(f"{what} {path} is not a readable PyTorch checkpoint (truncated or corrupt?): "
                       f"{detail}. Copy or export the file again")


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """mmengine's loader for local paths (``load_from``, ``resume``, ``Pretrained``): :func:`read_checkpoint`.

    ``meta['config']`` is dropped: mmengine's ``Runner.resume`` executes that text as a Python
    config (to read ``gpu_ids``), so a checkpoint of plain strings could otherwise still run code.
    """
    checkpoint = read_checkpoint(os.path.expanduser(filename), map_location=map_location)
    meta = checkpoint.get("meta") if isinstance(checkpoint, dict) else None
    if isinstance(meta, dict) and "config" in meta:
        checkpoint["meta"] = {k: v for k, v in meta.items() if k != "config"}
    return checkpoint



# ----------------------------------------------------------------------------- plain data
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


# ----------------------------------------------------------------------------- conversion
TEACHER_PREFIXES = ("teacher.", "teachers.", "distiller.")  # nst_det, mmrazor (SingleTeacherDistill)
STUDENT_PREFIXES = ("student.", "architecture.")


def student_state_dict(state_dict: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], str]:
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


def convert_checkpoint(src: PathLike, dst: PathLike, student_only: bool = False) -> list[str]:
    """Rewrite any checkpoint :func:`read_checkpoint` accepts as plain data, atomically.

    The output loads with ``torch.load(weights_only=True)``: what stock mmengine/mmdet tools do on
    torch >= 2.6. Skipped objects (e.g. the message hub's ``HistoryBuffer`` history) are left out,
    numpy values become numbers and tensors.

    Args:
        src: the checkpoint to read.
        dst: where to write.
        student_only: keep only the student of a distiller checkpoint (:func:`student_state_dict`)
            and its ``meta``; training state (optimizer, schedulers, message hub) is dropped.

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
        raise NSTDetError(f"{dst} was written but does not load with weights_only=True ({_first_line(exc)})") from None
    notes.append(f"wrote {dst}: {len(state_dict)} tensors; torch.load(weights_only=True) reads it")
    return notes
