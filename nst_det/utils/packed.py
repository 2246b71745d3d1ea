"""Millions of strings in one buffer: a list that DataLoader workers share without copying it.

A Python list of 1.28M paths is 1.28M objects, each with a reference count. Every forked DataLoader
worker that reads an item writes that count, so the page holding it is copied into the worker
(copy-on-write): after an epoch each worker holds its own copy of the whole list. :class:`PackedStrings`
keeps the UTF-8 bytes of all strings in one ``uint8`` array and their end offsets in one ``int64``
array (as mmengine's ``BaseDataset.serialize_data`` stores its data list): two objects, read without
writing to them, so the workers keep sharing the parent's pages. It pickles as the two arrays.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Sequence, Union, overload

import numpy as np


class PackedStrings(Sequence[str]):
    """An immutable sequence of ``str`` stored as one byte buffer plus offsets.

    Args:
        items: the strings (``str``, or ``bytes`` already UTF-8 encoded).
    """

    def __init__(self, items: Iterable[Union[str, bytes]]) -> None:
        encoded = [item.encode("utf-8") if isinstance(item, str) else bytes(item) for item in items]
        self._ends = np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))
        self._buffer = np.frombuffer(b"".join(encoded), dtype=np.uint8)

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} strings")
        start = int(self._ends[index - 1]) if index else 0
        return self._buffer[start:int(self._ends[index])].tobytes().decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))

    @property
    def nbytes(self) -> int:
        """Memory held by the buffer and the offsets."""
        return self._buffer.nbytes + self._ends.nbytes

    def __repr__(self) -> str:
        return f"PackedStrings({len(self)} strings, {self.nbytes} bytes)"
