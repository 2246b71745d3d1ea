"""``torch.load(weights_only=False)`` of each file, as :func:`canonical.canonical` describes it.

    python tests/reference_load.py OUT.pth FILE [FILE ...]

Run in a fresh interpreter that imports torch and numpy only (never nst_det): the trusted reference the
differential test compares the reader with. ``OUT.pth`` maps each file to its description and the
data-pointer groups of tensors sharing a storage.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from canonical import canonical, shared_storages  # noqa: E402

if __name__ == "__main__":
    results = {}
    for name in sys.argv[2:]:
        loaded = torch.load(name, map_location="cpu", weights_only=False)
        results[name] = {"values": canonical(loaded), "shared": shared_storages(loaded)}
    torch.save(results, sys.argv[1])
