"""The checkpoint reader: every file a tool reads is interpreted as data; nothing in it is run.

``torch.load`` (and ``pickle``) execute whatever a file names. This reader never does: it parses the
file's container (:mod:`.archive`), reads each pickle into a graph of names and values
(:mod:`.pickle_vm`), and builds fresh objects from that graph by a small grammar (:mod:`.build`,
:mod:`.tensors`, :mod:`.arrays`): tensors and storages of every dtype torch saves (quantized and
sparse included), plain containers, numeric numpy arrays/scalars/dtypes. Names outside the grammar
are skipped (never created) and names only an attack needs are refused (:mod:`.names`); every walk is
iterative and budgeted (:class:`.values.Limits`).

    obj, skipped = read_file(path, map_location="cpu")   # skipped: [(key path, qualified name), ...]

No mmengine/mmdet import: :func:`nst_det.utils.checkpoint.read_checkpoint` wraps it for the tools.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Union

from nst_det.utils.reader.archive import read_archive
from nst_det.utils.reader.build import drop_skipped
from nst_det.utils.reader.errors import Corrupt, Hostile, ReaderError, Refused
from nst_det.utils.reader.placement import Placement
from nst_det.utils.reader.values import Limits, NameRef, Skipped

__all__ = ["read_file", "Limits", "ReaderError", "Hostile", "Refused", "Corrupt"]


def read_file(path: Union[str, os.PathLike], map_location: Any = "cpu",
              limits: Optional[Limits] = None) -> tuple[Any, list[tuple[str, str]]]:
    """The data in the checkpoint ``path`` and where objects that are not data were skipped.

    Args:
        path: a regular file (FIFOs and devices are refused before they are opened).
        map_location: as ``torch.load`` takes it (a device, a string, a dict of locations, a callable,
            or ``None`` for where each storage was saved).
        limits: budgets (default :class:`Limits`).

    Returns:
        ``(obj, skipped)``: ``obj`` holds only plain containers, tensors and numpy values;
        ``skipped`` lists ``(key path, qualified name)`` of what was left out.

    Raises:
        Hostile, Refused, Corrupt: one line each, nothing in the file having run.
    """
    path = Path(path)
    if not path.is_file():
        raise Refused("it is not a regular file")
    obj, skipped = drop_skipped(read_archive(path, Placement(map_location), limits or Limits()))
    if isinstance(obj, (Skipped, NameRef)):
        raise Refused(f"it holds no data: the whole file is a pickled {obj.qualname} object",
                      advice="Save the weights as a state dict instead (torch.save(model.state_dict(), PATH))")
    return obj, skipped
