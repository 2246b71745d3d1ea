"""The ImageNet stage's list of ``(image path, class index)``: from a folder scan or a listing file.

Two conventions, as mmpretrain's ``CustomDataset``/``ImageNet`` read them:

* **Folder layout** ``<image root>/<class>/<image>``: classes are the sorted folder names. Each class
  folder is listed once (``os.scandir``; the entry type comes with the listing, no ``stat`` per image).
* **Listing file** (``ann_file``, e.g. mmpretrain's ``meta/train.txt``): one ``relative/path label``
  line per image, the path relative to the image root, split at the last space; the label is the class
  index. No file is opened or checked up front (a missing image is named when a worker loads it).

Either way the result is a :class:`SampleTable`: relative paths in one
:class:`~nst_det.utils.packed.PackedStrings` and labels in one ``int32`` array, so forked DataLoader
workers share it instead of copying it as they index it.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Iterator, Optional, Sequence

import numpy as np

from nst_det.utils.errors import NSTDetError
from nst_det.utils.packed import PackedStrings

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


class SampleTable(Sequence[tuple[str, int]]):
    """``(path, label)`` pairs: ``root`` joined to each relative path on access.

    Args:
        root: the image root the relative paths start from.
        paths: relative paths, one per sample.
        labels: ``(N,)`` class indices.
    """

    def __init__(self, root: str, paths: PackedStrings, labels: np.ndarray) -> None:
        self.root, self.paths, self.labels = root, paths, labels.astype(np.int32, copy=False)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[str, int]:  # type: ignore[override]
        return osp.join(self.root, self.paths[index]), int(self.labels[index])

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return (self[i] for i in range(len(self)))


def scan_image_folder(root: str) -> tuple[list[str], SampleTable]:
    """Class names (sorted folder names) and the samples of ``root/<class>/<image>``."""
    try:
        with os.scandir(root) as entries:
            classes = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        raise NSTDetError(f"dataset folder {root} does not exist (expected <data_root>/<split>/<class>/*.JPEG)") \
            from None
    if not classes:
        raise NSTDetError(f"dataset folder {root} has no class folders (expected {root}/<class>/*.JPEG)")
    paths, labels = [], []
    for label, name in enumerate(classes):
        with os.scandir(osp.join(root, name)) as entries:
            files = sorted(e.name for e in entries if e.name.lower().endswith(IMAGE_EXTENSIONS) and e.is_file())
        paths += [f"{name}/{file}" for file in files]
        labels += [label] * len(files)
    if not paths:
        raise NSTDetError(f"dataset folder {root} has class folders but no images "
                          f"(extensions {', '.join(IMAGE_EXTENSIONS)})")
    return classes, SampleTable(root, PackedStrings(paths), np.asarray(labels, dtype=np.int32))


def read_listing(ann_file: str, root: str, classes: Optional[Sequence[str]] = None) -> tuple[list[str], SampleTable]:
    """Samples of a ``relative/path label`` listing file (mmpretrain's ``ann_file``).

    Args:
        ann_file: the listing.
        root: the image root the listed paths are relative to.
        classes: class names; labels must index them. Without, the classes are named by their
            index (``"0"`` ... the largest label).

    Returns:
        ``(classes, samples)``.
    """
    try:
        with open(ann_file, "rb") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise NSTDetError(f"listing file {ann_file} cannot be read ({exc.strerror or exc}); set the data root "
                          "in the config or with --cfg-options data_root=...") from None
    paths, labels = [], []
    try:
        for line in lines:
            if line.strip():
                path, label = line.strip().rsplit(b" ", 1)
                paths.append(path)
                labels.append(int(label))
    except ValueError:
        number = next(i for i, line in enumerate(lines, 1) if line.strip() and not _valid_line(line))
        raise NSTDetError(f"{ann_file}:{number}: expected 'relative/path label' (an integer class index), "
                          f"got {lines[number - 1].decode('utf-8', 'replace')!r}") from None
    if not paths:
        raise NSTDetError(f"listing file {ann_file} lists no images")
    label_array = np.asarray(labels, dtype=np.int64)
    low, high = int(label_array.min()), int(label_array.max())
    names = list(classes) if classes is not None else [str(i) for i in range(high + 1)]
    if low < 0 or high >= len(names):
        bad = low if low < 0 else high
        number = next(i for i, line in enumerate(lines, 1) if line.strip() and _label(line) == bad)
        raise NSTDetError(f"{ann_file}:{number}: label {bad} is not a class index (0 to {len(names) - 1}, "
                          f"{len(names)} classes)")
    return names, SampleTable(root, PackedStrings(paths), label_array)


def _label(line: bytes) -> int:
    return int(line.strip().rsplit(b" ", 1)[1])


def _valid_line(line: bytes) -> bool:
    try:
        _label(line)
    except (ValueError, IndexError):
        return False
    return True
