"""Time of the checkpoint reader against ``torch.load(weights_only=True)``, side by side in one run.

    python tools/benchmark_reader.py                 # ResNet-101 state dict + SGD momentum, zip format
    python tools/benchmark_reader.py --arch resnet18 --repeats 7

The reader (``nst_det/utils/reader``) interprets the pickle in Python and copies each storage into fresh
memory; torch's weights-only loader unpickles in C++ and maps storages. Both read the same file,
alternately, ``--repeats`` times; the median of each and their ratio are printed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import torch
import torchvision

from nst_det.utils.reader import read_file


def training_checkpoint(arch: str) -> dict:
    """A training checkpoint as runs write it: weights, one momentum buffer per parameter, meta."""
    torch.manual_seed(0)
    weights = torchvision.models.get_model(arch).state_dict()
    state = {i: {"momentum_buffer": torch.randn_like(v)}
             for i, v in enumerate(weights.values()) if v.is_floating_point()}
    optimizer = {"state": state, "param_groups": [{"lr": 0.1, "params": list(state)}]}
    return {"state_dict": weights, "optimizer": optimizer, "meta": {"epoch": 1, "iter": 5000}}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="resnet101")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checkpoint.pth"
        torch.save(training_checkpoint(args.arch), path)
        loaders = {"torch.load(weights_only=True)": lambda: torch.load(path, map_location="cpu", weights_only=True),
                   "nst_det reader": lambda: read_file(path)}
        times: dict[str, list[float]] = {name: [] for name in loaders}
        for _ in range(args.repeats):
            for name, load in loaders.items():
                start = time.perf_counter()
                load()
                times[name].append(time.perf_counter() - start)
        size = path.stat().st_size / 2**20
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{args.arch} training checkpoint, {size:.0f} MiB, median of {args.repeats}:")
    for name, median in medians.items():
        print(f"  {name:<32s} {median * 1000:8.1f} ms")
    ratio = medians["nst_det reader"] / medians["torch.load(weights_only=True)"]
    print(f"  ratio reader / torch.load        {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
