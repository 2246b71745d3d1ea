"""Throughput of the ImageNet-stage input pipeline alone (decode + RandomResizedCrop + flip).

    python tools/benchmark_loader.py                       # generated 400 px JPEGs, 224 crops
    python tools/benchmark_loader.py --data-root /data/imagenet --workers 1 2 4 8

Prints images/s for each worker count and per worker process, for plain shuffled indices and for
the configs' ``SeededSampler`` (each sample's augmentation seeded by ``(seed, epoch, index)``,
which makes resumed runs exact), measured alternately in the same run; without ``--data-root``
it writes JPEGs of about ImageNet's average size (≈400x350) to a temporary folder first.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import Optional

import torch
from torch.utils.data import DataLoader

from nst_det.data import make_classification_dataset
from nst_det.pretrain.data import ImageFolderDataset
from nst_det.seeding import SeededSampler


def measure(dataset: ImageFolderDataset, workers: int, batch_size: int, batches: int, seeded: bool) -> float:
    """Images per second over ``batches`` batches, after one warm-up batch per worker."""
    sampler = SeededSampler(dataset, shuffle=True, seed=0) if seeded else None
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=not seeded, sampler=sampler, num_workers=workers,
                        persistent_workers=workers > 0, drop_last=True)
    iterator = iter(loader)
    for _ in range(max(workers, 1)):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", help="ImageNet-layout folder (default: generate one)")
    parser.add_argument("--image-size", type=int, default=400, help="side of generated images")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--crop", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3, help="alternating plain/seeded measurements; median")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_root
        if root is None:
            root = os.path.join(tmp, "imagenet")
            per_class = -(-args.batch_size * (args.batches + max(args.workers)) // 5)
            make_classification_dataset(root, train_per_class=per_class, val_per_class=1,
                                        image_size=args.image_size)
        dataset = ImageFolderDataset(root, "train", crop_size=args.crop)
        print(f"{len(dataset)} images from {root if args.data_root else f'generated {args.image_size}px JPEGs'}, "
              f"{args.crop}px crops, batch {args.batch_size}, {os.cpu_count()} CPU cores")
        print("| workers | images/s | images/s per worker | seeded images/s | seeded / plain |\n|---|---|---|---|---|")
        for workers in args.workers:
            rates = {False: [], True: []}
            for _ in range(args.repeats):
                for seeded in (False, True):
                    rates[seeded].append(measure(dataset, workers, args.batch_size, args.batches, seeded))
            plain, seeded = statistics.median(rates[False]), statistics.median(rates[True])
            print(f"| {workers} | {plain:.0f} | {plain / max(workers, 1):.0f} | {seeded:.0f} | {seeded / plain:.3f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
