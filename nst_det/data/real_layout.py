"""Generated detection data in the exact layouts the shipped VOC07+12 and COCO 2017 configs read.

:func:`make_detection_dataset` writes the demo layout (``VOCdevkit/VOC2007`` only, ``coco/{train,val}``,
shape class names). The shipped configs (``configs/*_voc0712.py``, ``configs/*_coco.py``) read the real
datasets' folders and class names, so a run of those configs on generated data needs::

    out_dir/VOCdevkit/VOC2007/{Annotations,JPEGImages}/..., ImageSets/Main/{trainval,test}.txt
    out_dir/VOCdevkit/VOC2012/{Annotations,JPEGImages}/..., ImageSets/Main/trainval.txt
    out_dir/coco/annotations/instances_{train,val}2017.json, out_dir/coco/{train,val}2017/<id>.jpg

:func:`make_real_layout_dataset` writes that: the same pictures, trainval split alternately between
VOC2007 and VOC2012, and the five shapes named after five real classes (:data:`VOC_NAMES`,
:data:`COCO_NAMES`; the COCO ids are those classes' real category ids), so ``VOCDataset``/``CocoDataset``
with the stock 20/80-class ``metainfo`` read every object.
"""
from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

from nst_det.data.drawing import CLASSES
from nst_det.data.synthetic import make_detection_dataset
from nst_det.utils.errors import InvalidInputError

# shape i is called VOC_NAMES[i] / COCO_NAMES[i] (COCO category id i + 1: person=1 ... airplane=5 in COCO too)
VOC_NAMES = ("aeroplane", "bicycle", "bird", "boat", "bottle")
COCO_NAMES = ("person", "bicycle", "car", "motorcycle", "airplane")


def _split_voc(voc: Path) -> None:
    """Move every other trainval image of ``VOC2007`` to ``VOC2012`` and rename the shapes in every XML."""
    names = dict(zip(CLASSES, VOC_NAMES))
    main = voc / "VOC2007" / "ImageSets" / "Main"
    ids = main.joinpath("trainval.txt").read_text().split()
    moved = ids[1::2]
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (voc / "VOC2012" / sub).mkdir(parents=True, exist_ok=True)
    for image_id in moved:
        for sub, suffix in (("Annotations", ".xml"), ("JPEGImages", ".jpg")):
            shutil.move(voc / "VOC2007" / sub / f"{image_id}{suffix}", voc / "VOC2012" / sub / f"{image_id}{suffix}")
    main.joinpath("trainval.txt").write_text("".join(f"{i}\n" for i in ids[0::2]))
    (voc / "VOC2012" / "ImageSets" / "Main" / "trainval.txt").write_text("".join(f"{i}\n" for i in moved))
    for year in ("VOC2007", "VOC2012"):
        for xml in sorted((voc / year / "Annotations").glob("*.xml")):
            root = ET.parse(xml).getroot()
            root.find("folder").text = year
            for name in root.iter("name"):
                name.text = names[name.text]
            xml.write_text(ET.tostring(root, encoding="unicode") + "\n", encoding="utf-8")


def _rename_coco(coco: Path) -> None:
    """``train``/``val`` -> ``train2017``/``val2017`` (images and annotation files); shapes -> COCO names."""
    for split in ("train", "val"):
        (coco / split).rename(coco / f"{split}2017")
        source = coco / "annotations" / f"instances_{split}.json"
        dataset = json.loads(source.read_text())
        for category in dataset["categories"]:
            category["name"] = COCO_NAMES[category["id"] - 1]
        (coco / "annotations" / f"instances_{split}2017.json").write_text(json.dumps(dataset, sort_keys=True) + "\n")
        source.unlink()


def make_real_layout_dataset(out_dir: str | Path, num_trainval: int = 16, num_test: int = 4,
                             image_size: Sequence[int] = (128, 160), seed: int = 0) -> dict[str, Path]:
    """Write generated shapes as VOC07+12 (``VOCdevkit/``) and COCO 2017 (``coco/``) sets, real names.

    Args:
        out_dir: an empty or missing folder.
        num_trainval: images in VOC2007 + VOC2012 trainval (= COCO train2017), split alternately.
        num_test: images in VOC2007 test (= COCO val2017).
        image_size: ``(height, width)`` of every image (both sides >= 64).
        seed: the data seed (:func:`make_detection_dataset`).

    Returns:
        ``{'voc': out_dir/'VOCdevkit', 'coco': out_dir/'coco'}``: the configs' ``data_root`` values.

    Raises:
        InvalidInputError: fewer than 2 trainval images, or ``out_dir`` already holds ``VOCdevkit``/``coco``
            (and :func:`make_detection_dataset`'s own checks).
    """
    if num_trainval < 2:
        raise InvalidInputError(f"num_trainval must be at least 2 (VOC2007 and VOC2012 each get images), "
                                f"got {num_trainval}")
    for existing in (Path(out_dir) / "VOCdevkit", Path(out_dir) / "coco"):
        if existing.exists():
            raise InvalidInputError(f"{existing} exists: make_real_layout_dataset writes into a new folder")
    paths = make_detection_dataset(out_dir, num_trainval=num_trainval, num_test=num_test,
                                   image_size=image_size, seed=seed)
    _split_voc(paths["voc"])
    _rename_coco(paths["coco"])
    return paths
