"""The values the reader's interpretation produces besides plain data, and the checks every value passes.

* :class:`Skipped` stands for an object the reader does not make (a name outside the grammar):
  inert, never called, removed from the result by :func:`~nst_det.utils.reader.build.drop_skipped`.
* :class:`NameRef` is a grammar name used as a value (``numpy.ndarray`` handed to ``_reconstruct``,
  a tensor rebuild handed to ``_rebuild_from_type_v2``); :class:`StorageRef` a storage the archive
  supplied. Neither reaches the caller as such.
* The ``checked_*`` helpers validate what the pickle supplies before anything is allocated.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import torch

from nst_det.utils.reader.errors import Corrupt, Refused

MAX_DIMS = 64
MAX_ELEMENTS = 1 << 48  # element count of a view or a meta tensor (no allocation is made from it)


class Skipped:
    """An object the reader does not make; ``qualname`` names what the pickle asked for."""

    __slots__ = ("qualname",)

    def __init__(self, qualname: str) -> None:
        self.qualname = qualname

    def __repr__(self) -> str:
        return f"<skipped {self.qualname}>"


class NameRef:
    """A grammar name used as a value: ``kind`` is its :data:`~nst_det.utils.reader.names.GRAMMAR` kind."""

    __slots__ = ("kind", "qualname")

    def __init__(self, kind: str, qualname: str) -> None:
        self.kind, self.qualname = kind, qualname

    def __repr__(self) -> str:
        return f"<name {self.qualname}>"


class StorageRef:
    """A storage read from the archive: fresh memory, ``dtype`` ``None`` for an untyped (byte) storage."""

    __slots__ = ("storage", "dtype")

    def __init__(self, storage: torch.UntypedStorage, dtype: Optional[torch.dtype]) -> None:
        self.storage, self.dtype = storage, dtype


def checked_int(value: Any, what: str, low: int = 0, high: int = 1 << 62) -> int:
    if type(value) is not int or not low <= value <= high:  # bools are not ints here
        raise Corrupt(f"{what} is {_short(value)}, not an integer in [{low}, {high}]")
    return value


def checked_ints(values: Any, what: str, high: int = 1 << 62) -> tuple[int, ...]:
    if not isinstance(values, (tuple, list, torch.Size)) or len(values) > MAX_DIMS:
        raise Corrupt(f"{what} is {_short(values)}, not a sequence of at most {MAX_DIMS} integers")
    return tuple(checked_int(v, what, 0, high) for v in values)


def checked_bool(value: Any, what: str) -> bool:
    if type(value) is not bool:
        raise Corrupt(f"{what} is {_short(value)}, not True/False")
    return value


def checked_float(value: Any, what: str) -> float:
    if type(value) not in (int, float):
        raise Corrupt(f"{what} is {_short(value)}, not a number")
    return float(value)


def checked_dtype(value: Any, what: str) -> torch.dtype:
    if not isinstance(value, torch.dtype):
        raise Corrupt(f"{what} is {_short(value)}, not a torch dtype")
    return value


def checked_view(nbytes: int, element_size: int, offset: Any, size: Any, stride: Any) -> tuple:
    """``(offset, size, stride)`` of a tensor over a storage of ``nbytes``, checked to stay inside it."""
    offset = checked_int(offset, "a tensor's storage offset")
    size, stride = checked_ints(size, "a tensor's size"), checked_ints(stride, "a tensor's stride")
    if len(size) != len(stride):
        raise Corrupt(f"a tensor's size {size} and stride {stride} differ in length")
    if math.prod(size) > MAX_ELEMENTS:
        raise Refused(f"a tensor of size {size} is larger than any checkpoint holds")
    if 0 in size:
        last = offset
    else:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
    if last * element_size > nbytes:
        raise Corrupt(f"a tensor (offset {offset}, size {size}, stride {stride}) reaches past the end of its "
                      f"storage of {nbytes} bytes")
    return offset, size, stride


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, (int, float, bool, type(None), str, bytes)) else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


class Limits:
    """Budgets of one read (all far above what a checkpoint of weights needs).

    Attributes:
        max_objects: objects a pickle may create (its opcode count bounds its memory).
        max_tree_nodes: values when the result is walked as a tree (shared references counted at each use).
        max_depth: nesting of containers.
        max_records: records of a zip archive.
    """

    def __init__(self, max_objects: int = 5_000_000, max_tree_nodes: int = 20_000_000, max_depth: int = 100,
                 max_records: int = 1_000_000) -> None:
        self.max_objects, self.max_tree_nodes = max_objects, max_tree_nodes
        self.max_depth, self.max_records = max_depth, max_records
