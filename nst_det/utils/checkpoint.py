"""Checkpoint I/O: one safe reader for every file a tool reads, atomic writes, the work dir's last checkpoint.

* :func:`read_checkpoint` reads any checkpoint a user holds without ever executing pickled code: the
  interpreter of :mod:`nst_det.utils.reader` (tensors, containers, numpy values made afresh; every
  other object skipped, hostile names refused). :mod:`nst_det.engine.checkpoint_loader` registers it as
  mmengine's loader for local files, so ``load_from``, ``--resume`` and ``Pretrained`` backbone files take
  the same path. What it skipped is logged through Python's ``logging`` (logger ``nst_det.utils.checkpoint``;
  :mod:`nst_det.engine.log_bridge` routes the ``nst_det`` loggers into mmengine's log).
* :func:`atomic_save` writes to a temporary file beside the target, fsyncs and renames it into
  place, so a killed run never leaves a half-written file under the final name.
* :func:`last_checkpoint`: the file a work dir's ``last_checkpoint`` names (mmengine's ``CheckpointHook``).
* :func:`checkpoint_bytes` and :func:`check_free_space` let a run refuse to start in a work dir
  that cannot hold one checkpoint.

The plain-data conversion of mmengine's objects (``to_plain``/``from_plain``, ``convert_checkpoint``) is
:mod:`nst_det.engine.plain_data`.
"""
from __future__ import annotations

import collections
import io
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import torch

from nst_det.utils import reader
from nst_det.utils.errors import NSTDetError

PathLike = Union[str, os.PathLike]  # the project's one spelling of "a path"
LAST_CHECKPOINT = "last_checkpoint"  # the file in a work dir naming its newest complete checkpoint (mmengine's)
logger = logging.getLogger(__name__)


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


def last_checkpoint(work_dir: PathLike) -> Optional[Path]:
    """The checkpoint ``<work_dir>/last_checkpoint`` names, as written, or ``None`` without that file.

    mmengine's ``CheckpointHook`` writes the path of the newest complete checkpoint there (as training saw it:
    relative to its working directory when the work dir was); mmengine's ``find_latest_checkpoint``, which
    ``resume`` uses, reads the same text.
    """
    marker = Path(work_dir) / LAST_CHECKPOINT
    return Path(marker.read_text().strip()) if marker.is_file() else None


def last_complete_checkpoint(work_dir: PathLike) -> str:
    """:func:`last_checkpoint` for messages: the path, or ``"none written yet"``."""
    return str(last_checkpoint(work_dir) or "none written yet")


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


def first_line(exc: BaseException) -> str:
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
        raise NSTDetError(f"{what} {path} cannot be read as data ({first_line(exc)}); nothing in it was run. "
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
        logger.info(f"{what} {path}: read as data; skipped {len(skipped)} object(s) that are not data: "
                    f"{describe_skipped(skipped)}. To make the file loadable by stock tools on torch>=2.6: "
                    f"python {CONVERTER} {path} OUT.pth")
    return checkpoint


def _unreadable(what: str, path: Path, exc: BaseException) -> NSTDetError:
    detail = first_line(exc) if isinstance(exc, reader.ReaderError) else f"{type(exc).__name__}: {first_line(exc)}"
    return NSTDetError(f"{what} {path} is not a readable PyTorch checkpoint (truncated or corrupt?): "
                       f"{detail}. Copy or export the file again")
