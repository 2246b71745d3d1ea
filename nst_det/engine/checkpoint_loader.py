"""The one checkpoint reader as mmengine's loader for local files (``load_from``, ``resume``, ``Pretrained``)."""
from __future__ import annotations

import os
from typing import Any

from mmengine.runner.checkpoint import CheckpointLoader

from nst_det.utils.checkpoint import read_checkpoint


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """mmengine's loader for local paths (``load_from``, ``resume``, ``Pretrained``):
    :func:`~nst_det.utils.checkpoint.read_checkpoint`.

    ``meta['config']`` is dropped: mmengine's ``Runner.resume`` executes that text as a Python
    config (to read ``gpu_ids``), so a checkpoint of plain strings could otherwise still run code.
    """
    checkpoint = read_checkpoint(os.path.expanduser(filename), map_location=map_location)
    meta = checkpoint.get("meta") if isinstance(checkpoint, dict) else None
    if isinstance(meta, dict) and "config" in meta:
        checkpoint["meta"] = {k: v for k, v in meta.items() if k != "config"}
    return checkpoint


# mmengine logs the loader as f"{name[10:]} backend": keep mmengine's own name for local files
CheckpointLoader.register_scheme(prefixes="", loader=load_from_local, force=True)
