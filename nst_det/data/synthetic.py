"""Deterministic demo data: procedurally drawn shapes on textured backgrounds.

Five shape classes (:data:`CLASSES`) are drawn with ``PIL.ImageDraw`` onto backgrounds made of
smooth low-frequency colour noise blended with stripes or a checkerboard. Fill colours come from
the same distribution for every class, so the class is decidable from the shape alone.

Two datasets, each written in the on-disk layout the real one uses:

* :func:`make_classification_dataset`: one roughly centred object per image, ImageNet folders::

      out_dir/{train,val}/<class>/<class>_00000.JPEG

* :func:`make_detection_dataset`: scenes with 1-4 objects, as PASCAL VOC and/or COCO::

      out_dir/VOCdevkit/VOC2007/Annotations/<id>.xml
      out_dir/VOCdevkit/VOC2007/JPEGImages/<id>.jpg
      out_dir/VOCdevkit/VOC2007/ImageSets/Main/{trainval,test}.txt
      out_dir/coco/annotations/instances_{train,val}.json
      out_dir/coco/{train,val}/<id>.jpg          (train = VOC trainval, val = VOC test)

Box conventions. Internally an object's box is ``(x0, y0, x1, y1)`` in pixel-edge coordinates: it
covers pixel columns ``x0 .. x1 - 1`` and rows ``y0 .. y1 - 1`` of its visible pixels. COCO stores
``bbox = [x0, y0, x1 - x0, y1 - y0]``; VOC stores 1-based inclusive pixel indices
``xmin = x0 + 1, ymin = y0 + 1, xmax = x1, ymax = y1``. So for the same object
``xmin_voc = x_coco + 1`` and ``xmax_voc = x_coco + w_coco`` (likewise for y). mmdet reads them
as it reads the real datasets: ``CocoDataset`` gives ``[x0, y0, x1, y1]``, ``VOCDataset``
subtracts 1 from all four VOC numbers and gives ``[x0, y0, x1 - 1, y1 - 1]``.

Determinism: every image has its own ``numpy.random.default_rng([seed, task, split, ...])`` stream,
so a call with fewer images writes a subset of the same pictures, and JPEGs are encoded with fixed
options, so the same call writes the same bytes on every run.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from nst_det.data.drawing import (
    CLASSES,
    CLS_MIN_SIZE,
    DET_MIN_SIDE,
    DET_OBJECT_SIZE,
    Box,
    classification_image,
    detection_scene,
    encode_jpeg,
)
from nst_det.utils.errors import InvalidInputError

DETECTION_LAYOUTS: tuple[str, ...] = ("voc", "coco")

# First words of every per-image RNG seed, so no two images share a stream.
_TASK_CLASSIFICATION, _TASK_DETECTION = 0, 1
_SPLIT_IDS = {"train": 0, "val": 1, "trainval": 2, "test": 3}


# --------------------------------------------------------------------------- argument checks
def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer, got {seed!r}")


# --------------------------------------------------------------------------- classification
def _check_no_stale_files(out_dir: Path, counts: dict[str, int]) -> None:
    """Refuse to write where an ImageFolder would also pick up files this call does not write.

    Re-running with the same or larger counts is fine (files are overwritten).
    """
    for split, count in counts.items():
        expected = {Path(name) for name in CLASSES}
        expected |= {Path(name, f"{name}_{i:05d}.JPEG") for name in CLASSES for i in range(count)}
        split_dir = out_dir / split
        if not split_dir.is_dir():
            continue
        for path in sorted(split_dir.rglob("*")):
            if path.relative_to(split_dir) not in expected:
                raise InvalidInputError(
                    f"{split_dir} already holds {path.relative_to(split_dir)}, which is not part "
                    f"of a set of {count} images per class; remove {split_dir} or choose "
                    f"another output folder")


def make_classification_dataset(out_dir: str | Path, train_per_class: int = 200,
                                val_per_class: int = 40, image_size: int = 72,
                                seed: int = 0) -> Path:
    """Write a balanced shape-classification set in the ImageNet folder layout.

    Layout (``<class>`` runs over :data:`CLASSES`, ``i`` is zero-padded to 5 digits)::

        out_dir/train/<class>/<class>_<i>.JPEG   train_per_class images per class
        out_dir/val/<class>/<class>_<i>.JPEG     val_per_class images per class

    Every image is RGB ``image_size x image_size`` with one object whose diameter is 40-80 % of
    the side. Image ``i`` of a class and split is the same for any count larger than ``i``.

    Note that ``torchvision.datasets.ImageFolder`` numbers classes by sorted folder name, which is
    not the order of :data:`CLASSES`.

    Returns:
        ``out_dir`` as a :class:`~pathlib.Path`.

    Raises:
        InvalidInputError: a count below 1, a negative seed, or ``image_size`` below 32.
    """
    _check_count("train_per_class", train_per_class)
    _check_count("val_per_class", val_per_class)
    _check_seed(seed)
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) \
            or image_size < CLS_MIN_SIZE:
        raise InvalidInputError(
            f"image_size must be an integer >= {CLS_MIN_SIZE}, got {image_size!r}")
    out_dir = Path(out_dir)
    counts = {"train": train_per_class, "val": val_per_class}
    _check_no_stale_files(out_dir, counts)
    for split, count in counts.items():
        for label, name in enumerate(CLASSES):
            class_dir = out_dir / split / name
            class_dir.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                rng = np.random.default_rng(
                    [seed, _TASK_CLASSIFICATION, _SPLIT_IDS[split], label, index])
                image = classification_image(rng, label, image_size)
                (class_dir / f"{name}_{index:05d}.JPEG").write_bytes(encode_jpeg(image))
    return out_dir


# --------------------------------------------------------------------------- detection
def _voc_xml(image_id: str, height: int, width: int, boxes: Sequence[Box]) -> str:
    """PASCAL VOC 2007 annotation XML for one image (1-based inclusive pixel boxes)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "VOC2007"
    ET.SubElement(root, "filename").text = f"{image_id}.jpg"
    source = ET.SubElement(root, "source")
    ET.SubElement(source, "database").text = "nst_det synthetic shapes"
    size = ET.SubElement(root, "size")
    for tag, value in (("width", width), ("height", height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(value)
    ET.SubElement(root, "segmented").text = "0"
    for box in boxes:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = CLASSES[box.label]
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        bndbox = ET.SubElement(obj, "bndbox")
        for tag, value in (("xmin", box.x0 + 1), ("ymin", box.y0 + 1),
                           ("xmax", box.x1), ("ymax", box.y1)):
            ET.SubElement(bndbox, tag).text = str(value)
    ET.indent(root, space="\t")
    return ET.tostring(root, encoding="unicode") + "\n"


def _coco_json(images: Sequence[tuple[str, list[Box]]], height: int, width: int) -> str:
    """COCO instances JSON for ``(image_id, boxes)`` pairs; image and annotation ids from 1.

    ``bbox`` is ``[x, y, w, h]``, ``segmentation`` the box polygon, ``area`` the box area.
    """
    image_entries, annotations = [], []
    for image_index, (image_id, boxes) in enumerate(images, start=1):
        image_entries.append(dict(id=image_index, file_name=f"{image_id}.jpg",
                                  height=height, width=width))
        for box in boxes:
            w, h = box.x1 - box.x0, box.y1 - box.y0
            annotations.append(dict(
                id=len(annotations) + 1, image_id=image_index, category_id=box.label + 1,
                bbox=[box.x0, box.y0, w, h], area=w * h, iscrowd=0,
                segmentation=[[box.x0, box.y0, box.x1, box.y0, box.x1, box.y1, box.x0, box.y1]]))
    dataset = dict(
        info=dict(description="nst_det synthetic shapes", version="1.0"),
        licenses=[],
        images=image_entries,
        annotations=annotations,
        categories=[dict(id=i + 1, name=name, supercategory="shape")
                    for i, name in enumerate(CLASSES)])
    return json.dumps(dataset, sort_keys=True, indent=1) + "\n"


def _check_layouts(layouts: Iterable[str]) -> tuple[str, ...]:
    if isinstance(layouts, str):
        layouts = (layouts,)
    layouts = tuple(layouts)
    unknown = sorted(set(layouts) - set(DETECTION_LAYOUTS))
    if not layouts or unknown:
        raise InvalidInputError(
            f"layouts must be a non-empty subset of {DETECTION_LAYOUTS}, got {layouts!r}")
    return layouts


def _check_image_size(image_size: Sequence[int]) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"image_size must be (height, width), got {image_size!r}") from None
    if min(height, width) < DET_MIN_SIDE:
        raise InvalidInputError(
            f"image_size {height}x{width} is too small for objects of "
            f"{DET_OBJECT_SIZE[0]}+ px: both sides must be >= {DET_MIN_SIDE}")
    return height, width


def make_detection_dataset(out_dir: str | Path, num_trainval: int = 160, num_test: int = 40,
                           image_size: Sequence[int] = (240, 320), seed: int = 0,
                           layouts: Sequence[str] = DETECTION_LAYOUTS) -> dict[str, Path]:
    """Write a shape-detection set in PASCAL VOC and/or COCO layout.

    Each image is RGB ``image_size = (height, width)`` with 1-4 objects of diameter 24 to
    ``min(120, min(height, width) // 2)`` px; objects may overlap, each keeps >= 70 % of its
    pixels visible, and its box (around the visible pixels) lies inside the image. Image ids are
    ``trainval_00000 ...`` and ``test_00000 ...``; image ``i`` of a split is the same for any
    count larger than ``i``. Layouts (see the module docstring for box conventions)::

        voc:  out_dir/VOCdevkit/VOC2007/{Annotations/<id>.xml, JPEGImages/<id>.jpg,
                                         ImageSets/Main/trainval.txt, ImageSets/Main/test.txt}
        coco: out_dir/coco/annotations/instances_train.json   (the VOC trainval images)
              out_dir/coco/annotations/instances_val.json     (the VOC test images)
              out_dir/coco/train/<id>.jpg, out_dir/coco/val/<id>.jpg

    Both layouts hold byte-identical JPEGs. COCO category ids are ``CLASSES`` index + 1.

    Returns:
        ``{'voc': out_dir/'VOCdevkit', 'coco': out_dir/'coco'}``, restricted to ``layouts``.

    Raises:
        InvalidInputError: a count below 1, a negative seed, a side below 64, or an unknown layout.
    """
    _check_count("num_trainval", num_trainval)
    _check_count("num_test", num_test)
    _check_seed(seed)
    height, width = _check_image_size(image_size)
    layouts = _check_layouts(layouts)

    out_dir = Path(out_dir)
    voc_root = out_dir / "VOCdevkit" / "VOC2007"
    coco_root = out_dir / "coco"
    if "voc" in layouts:
        for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
            (voc_root / sub).mkdir(parents=True, exist_ok=True)
    if "coco" in layouts:
        for sub in ("annotations", "train", "val"):
            (coco_root / sub).mkdir(parents=True, exist_ok=True)

    for split, coco_split, count in (("trainval", "train", num_trainval),
                                     ("test", "val", num_test)):
        images = []
        for index in range(count):
            rng = np.random.default_rng([seed, _TASK_DETECTION, _SPLIT_IDS[split], index])
            image, boxes = detection_scene(rng, height, width)
            image_id = f"{split}_{index:05d}"
            jpeg = encode_jpeg(image)
            if "voc" in layouts:
                (voc_root / "JPEGImages" / f"{image_id}.jpg").write_bytes(jpeg)
                (voc_root / "Annotations" / f"{image_id}.xml").write_text(
                    _voc_xml(image_id, height, width, boxes), encoding="utf-8")
            if "coco" in layouts:
                (coco_root / coco_split / f"{image_id}.jpg").write_bytes(jpeg)
            images.append((image_id, boxes))
        if "voc" in layouts:
            (voc_root / "ImageSets" / "Main" / f"{split}.txt").write_text(
                "".join(f"{image_id}\n" for image_id, _ in images), encoding="utf-8")
        if "coco" in layouts:
            (coco_root / "annotations" / f"instances_{coco_split}.json").write_text(
                _coco_json(images, height, width), encoding="utf-8")

    paths = {"voc": out_dir / "VOCdevkit", "coco": coco_root}
    return {layout: paths[layout] for layout in DETECTION_LAYOUTS if layout in layouts}
