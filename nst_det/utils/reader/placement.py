"""Fresh storages from archive bytes, and where they go (``map_location``, as ``torch.load`` takes it)."""
from __future__ import annotations

import re
from typing import Any, Optional

import numpy as np
import torch

from nst_det.utils.reader.errors import Corrupt, Refused

_LOCATION = re.compile(r"^(cpu|cuda|mps|meta|xpu|hpu)(:[0-9]{1,4})?$")


def fresh_storage(data: Any, dtype: Optional[torch.dtype], swap_bytes: bool = False) -> torch.UntypedStorage:
    """A new CPU storage holding a copy of ``data`` (bytes-like); byte-swapped per ``dtype`` if asked."""
    buffer = torch.empty(len(data), dtype=torch.uint8)
    if len(data):
        buffer.numpy()[:] = np.frombuffer(data, dtype=np.uint8)
    storage = buffer.untyped_storage()
    if swap_bytes and dtype is not None and torch._utils._element_size(dtype) > 1:
        storage.byteswap(dtype)
    return storage


def checked_location(location: Any) -> str:
    """A device tag as torch writes it (``cpu``, ``cuda:0``, ...); anything else is refused."""
    if not isinstance(location, str) or not _LOCATION.match(location):
        raise Corrupt(f"a storage is placed on {location!r}, which is not a device")
    return location


class Placement:
    """``map_location`` applied to the storages the reader makes (``None``: where they were saved)."""

    def __init__(self, map_location: Any = "cpu") -> None:
        self.map_location = map_location

    def storage(self, storage: torch.UntypedStorage, location: str) -> torch.UntypedStorage:
        location, target = checked_location(location), self.map_location
        if callable(target) and not isinstance(target, (str, torch.device)):
            placed = target(storage, location)
            if placed is not None:
                return placed._untyped_storage if isinstance(placed, torch.storage.TypedStorage) else placed
            target = None
        if isinstance(target, dict):
            target = target.get(location, location)
        try:
            return torch.serialization.default_restore_location(storage, str(target) if target is not None
                                                                else location)
        except RuntimeError as exc:
            raise Refused(f"its tensors were saved on {location}, which this machine cannot use "
                          f"({str(exc).splitlines()[0].split('. ')[0]})", advice="Load it with map_location='cpu'") \
                from None

    def tensor(self, tensor: torch.Tensor, location: Optional[str]) -> torch.Tensor:
        """A CPU-built tensor where ``location`` (or ``map_location``) puts it."""
        placed = self.storage(tensor.untyped_storage(), location or "cpu")
        if placed is tensor.untyped_storage():
            return tensor
        return torch.empty((0,), dtype=tensor.dtype, device=placed.device).set_(
            placed, tensor.storage_offset(), tensor.shape, tensor.stride())
