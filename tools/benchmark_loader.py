"""Throughput of the ImageNet-stage input pipeline alone (decode + RandomResizedCrop + flip).

    python tools/benchmark_loader.py                       # generated 400 px JPEGs, 224 crops
    python tools/benchmark_loader.py --data-root /data/imagenet --workers 1 2 4 8 --device cuda

Prints images/s for each worker count and per worker process, for plain shuffled indices and for
the configs' ``SeededSampler`` (each sample's augmentation seeded by ``(seed, epoch, index)``,
which makes resumed runs exact), and for the device path (workers read bytes and draw the same
boxes; the batch is decoded and cropped on ``--device``, see ``nst_det/pretrain/device_data.py``),
measured alternately in the same run; without ``--data-root`` it writes JPEGs of about ImageNet's
average size (≈400x350) to a temporary folder first.
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
from nst_det.engine.seeded_data import SeededSampler
from nst_det.pretrain.data import ImageFolderDataset
from nst_det.pretrain.device_data import DeviceDecodePreprocessor, EncodedImageFolderDataset, encoded_collate


def measure(dataset: ImageFolderDataset, workers: int, batch_size: int, batches: int, seeded: bool,
            preprocessor: Optional[DeviceDecodePreprocessor] = None) -> float:
    """Images per second over ``batches`` batches (through ``preprocessor`` if given), after one
    warm-up batch per worker."""
    sampler = SeededSampler(dataset, shuffle=True, seed=0) if seeded else None
    collate = {"collate_fn": encoded_collate} if isinstance(dataset, EncodedImageFolderDataset) else {}
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=not seeded, sampler=sampler, num_workers=workers,
                        persistent_workers=workers > 0, drop_last=True, **collate)
    iterator = iter(loader)

    def take() -> None:
        batch = next(iterator)
        if preprocessor is not None:
            preprocessor(batch, True)

    for _ in range(max(workers, 1)):
        take()
    if preprocessor is not None and preprocessor.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(batches):
        take()
    if preprocessor is not None and preprocessor.device.type == "cuda":
        torch.cuda.synchronize()
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
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="where the device path decodes and crops")
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
        encoded = EncodedImageFolderDataset(root, "train", crop_size=args.crop)
        preprocessor = DeviceDecodePreprocessor(crop_size=args.crop).to(args.device)
        print(f"{len(dataset)} images from {root if args.data_root else f'generated {args.image_size}px JPEGs'}, "
              f"{args.crop}px crops, batch {args.batch_size}, {os.cpu_count()} CPU cores; device path on {args.device}")
        print("| workers | images/s | images/s per worker | seeded images/s | seeded / plain | device path images/s |"
              "\n|---|---|---|---|---|---|")
        for workers in args.workers:
            rates = {"plain": [], "seeded": [], "device": []}
            for _ in range(args.repeats):
                rates["plain"].append(measure(dataset, workers, args.batch_size, args.batches, False))
                rates["seeded"].append(measure(dataset, workers, args.batch_size, args.batches, True))
                rates["device"].append(measure(encoded, workers, args.batch_size, args.batches, True, preprocessor))
            plain, seeded, device = (statistics.median(rates[k]) for k in ("plain", "seeded", "device"))
            print(f"| {workers} | {plain:.0f} | {plain / max(workers, 1):.0f} | {seeded:.0f} | {seeded / plain:.3f} | "
                  f"{device:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
