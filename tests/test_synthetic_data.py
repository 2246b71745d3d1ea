"""Synthetic demo data: determinism, layouts, annotation formats, and loading by stock mmdet datasets."""
from __future__ import annotations

import hashlib
import json
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from tooling import run_tool

from nst_det.data import CLASSES, make_classification_dataset, make_detection_dataset
from nst_det.utils.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[1]

CLS_SIZE = 40
TRAIN_PER_CLASS, VAL_PER_CLASS = 4, 2
DET_HEIGHT, DET_WIDTH = 96, 128  # not square, so a height/width swap shows
NUM_TRAINVAL, NUM_TEST = 10, 4


def generate(root: Path, seed: int = 0, **det_counts: int) -> Path:
    """Write both datasets (small) under ``root`` the way tools/make_demo_data.py does."""
    make_classification_dataset(root / "imagenet", train_per_class=TRAIN_PER_CLASS,
                                val_per_class=VAL_PER_CLASS, image_size=CLS_SIZE, seed=seed)
    counts = dict(num_trainval=NUM_TRAINVAL, num_test=NUM_TEST) | det_counts
    make_detection_dataset(root, image_size=(DET_HEIGHT, DET_WIDTH), seed=seed, **counts)
    return root


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, keyed by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def read_voc(xml_path: Path) -> dict:
    """Parse one VOC annotation: filename, (width, height, depth), objects as (name, box)."""
    root = ET.parse(xml_path).getroot()
    size = root.find("size")
    objects = []
    for obj in root.findall("object"):
        assert obj.find("pose").text == "Unspecified"
        assert obj.find("truncated").text == "0"
        assert obj.find("difficult").text == "0"
        bndbox = obj.find("bndbox")
        box = tuple(int(bndbox.find(tag).text) for tag in ("xmin", "ymin", "xmax", "ymax"))
        objects.append((obj.find("name").text, box))
    return dict(folder=root.find("folder").text, filename=root.find("filename").text,
                size=tuple(int(size.find(t).text) for t in ("width", "height", "depth")),
                objects=objects)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def voc_dir(data_root) -> Path:
    return data_root / "VOCdevkit" / "VOC2007"


def voc_ids(voc_dir: Path, split: str) -> list[str]:
    return (voc_dir / "ImageSets" / "Main" / f"{split}.txt").read_text().split()


# --------------------------------------------------------------------------- determinism
def test_same_call_writes_same_bytes(data_root, tmp_path):
    first, second = file_hashes(data_root), file_hashes(generate(tmp_path))
    assert len(first) == 5 * (TRAIN_PER_CLASS + VAL_PER_CLASS) + 3 * (NUM_TRAINVAL + NUM_TEST) + 4
    assert first == second
    # ...and no two pictures are the same (COCO holds copies of the VOC JPEGs).
    pictures = [h for k, h in first.items() if k.endswith(".JPEG") or "JPEGImages" in k]
    assert len(set(pictures)) == len(pictures)


def test_fewer_images_are_a_subset(data_root, tmp_path):
    make_detection_dataset(tmp_path, num_trainval=3, num_test=1,
                           image_size=(DET_HEIGHT, DET_WIDTH), layouts=("voc",))
    small, full = file_hashes(tmp_path), file_hashes(data_root)
    images = [k for k in small if k.endswith((".jpg", ".xml"))]
    assert len(images) == 2 * 4
    assert all(small[k] == full[k] for k in images)


def test_different_seeds_give_different_images(data_root, tmp_path):
    other = generate(tmp_path, seed=1)
    base, changed = file_hashes(data_root), file_hashes(other)
    assert base.keys() == changed.keys()
    jpegs = [k for k in base if k.endswith((".jpg", ".JPEG"))]
    assert all(base[k] != changed[k] for k in jpegs)


# --------------------------------------------------------------------------- ImageNet layout
def test_classification_layout_is_balanced_and_decodes(data_root):
    root = data_root / "imagenet"
    for split, per_class in (("train", TRAIN_PER_CLASS), ("val", VAL_PER_CLASS)):
        assert sorted(p.name for p in (root / split).iterdir()) == sorted(CLASSES)
        for name in CLASSES:
            files = sorted((root / split / name).iterdir())
            assert [f.name for f in files] == [f"{name}_{i:05d}.JPEG" for i in range(per_class)]
            for f in files:
                with Image.open(f) as im:
                    assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (CLS_SIZE, CLS_SIZE))


def test_torchvision_image_folder_reads_it(data_root):
    from torchvision.datasets import ImageFolder

    ds = ImageFolder(str(data_root / "imagenet" / "train"))
    assert ds.classes == sorted(CLASSES)
    assert Counter(ds.targets) == {i: TRAIN_PER_CLASS for i in range(len(CLASSES))}


# --------------------------------------------------------------------------- VOC layout
def test_voc_layout_and_annotations(voc_dir):
    trainval, test = voc_ids(voc_dir, "trainval"), voc_ids(voc_dir, "test")
    assert len(trainval) == NUM_TRAINVAL and len(test) == NUM_TEST
    assert not set(trainval) & set(test)
    seen = Counter()
    for image_id in trainval + test:
        ann = read_voc(voc_dir / "Annotations" / f"{image_id}.xml")
        assert ann["folder"] == "VOC2007" and ann["filename"] == f"{image_id}.jpg"
        assert ann["size"] == (DET_WIDTH, DET_HEIGHT, 3)
        with Image.open(voc_dir / "JPEGImages" / f"{image_id}.jpg") as im:
            assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (DET_WIDTH, DET_HEIGHT))
        assert 1 <= len(ann["objects"]) <= 4
        for name, (xmin, ymin, xmax, ymax) in ann["objects"]:
            assert name in CLASSES
            assert 1 <= xmin < xmax <= DET_WIDTH and 1 <= ymin < ymax <= DET_HEIGHT
            assert max(xmax - xmin, ymax - ymin) + 1 >= 12  # objects are >= 24 px, >= 70 % visible
            seen[name] += 1
    assert set(seen) == set(CLASSES)


# --------------------------------------------------------------------------- COCO layout
@pytest.mark.parametrize("coco_split, voc_split", [("train", "trainval"), ("val", "test")])
def test_coco_matches_voc(data_root, voc_dir, coco_split, voc_split):
    from pycocotools.coco import COCO

    coco_dir = data_root / "coco"
    coco = COCO(str(coco_dir / "annotations" / f"instances_{coco_split}.json"))
    assert [c["name"] for c in coco.loadCats(sorted(coco.getCatIds()))] == list(CLASSES)
    assert sorted(coco.getCatIds()) == list(range(1, len(CLASSES) + 1))
    ann_ids = coco.getAnnIds()
    assert len(set(ann_ids)) == len(ann_ids)

    ids = voc_ids(voc_dir, voc_split)
    images = coco.loadImgs(sorted(coco.getImgIds()))
    assert [img["file_name"] for img in images] == [f"{i}.jpg" for i in ids]
    for img in images:
        assert (img["width"], img["height"]) == (DET_WIDTH, DET_HEIGHT)
        jpeg = (coco_dir / coco_split / img["file_name"]).read_bytes()
        assert jpeg == (voc_dir / "JPEGImages" / img["file_name"]).read_bytes()

        anns = coco.loadAnns(sorted(coco.getAnnIds(imgIds=[img["id"]])))
        voc_objects = read_voc(voc_dir / "Annotations" / img["file_name"].replace(".jpg", ".xml"))["objects"]
        assert len(anns) == len(voc_objects)
        for ann, (name, (xmin, ymin, xmax, ymax)) in zip(anns, voc_objects):
            x, y, w, h = ann["bbox"]
            # The documented convention: VOC is 1-based inclusive, COCO is pixel edges.
            assert (xmin, ymin, xmax, ymax) == (x + 1, y + 1, x + w, y + h)
            assert coco.loadCats(ann["category_id"])[0]["name"] == name
            assert ann["iscrowd"] == 0 and ann["area"] == w * h
            assert ann["segmentation"] == [[x, y, x + w, y, x + w, y + h, x, y + h]]
            assert x >= 0 and y >= 0 and x + w <= DET_WIDTH and y + h <= DET_HEIGHT


def test_coco_json_is_sorted_and_stable(data_root):
    path = data_root / "coco" / "annotations" / "instances_train.json"
    text = path.read_text()
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=1) + "\n"


# --------------------------------------------------------------------------- stock mmdet datasets
def mmdet_expected(voc_dir: Path, image_id: str, voc_minus_one: bool
                   ) -> tuple[list[list[int]], list[int]]:
    """Boxes and 0-based labels mmdet should read for one image, derived from its VOC XML.

    mmdet's CocoDataset gives pixel edges ``[x, y, x + w, y + h] = [xmin-1, ymin-1, xmax, ymax]``;
    its VOCDataset subtracts 1 from all four VOC numbers (``minus_one=True``), as for real VOC.
    """
    objects = read_voc(voc_dir / "Annotations" / f"{image_id}.xml")["objects"]
    shift = 1 if voc_minus_one else 0
    boxes = [[xmin - 1, ymin - 1, xmax - shift, ymax - shift]
             for _, (xmin, ymin, xmax, ymax) in objects]
    return boxes, [CLASSES.index(name) for name, _ in objects]


@pytest.mark.parametrize("split, num", [("trainval", NUM_TRAINVAL), ("test", NUM_TEST)])
def test_mmdet_voc_dataset_loads_it(data_root, voc_dir, split, num):
    from mmdet.datasets import VOCDataset

    ds = VOCDataset(data_root=str(data_root / "VOCdevkit"),
                    ann_file=f"VOC2007/ImageSets/Main/{split}.txt",
                    data_prefix=dict(sub_data_root="VOC2007/"),
                    metainfo=dict(classes=CLASSES), pipeline=[], test_mode=split == "test")
    assert len(ds) == num
    assert ds.metainfo["classes"] == CLASSES
    for i, image_id in enumerate(voc_ids(voc_dir, split)):
        info = ds.get_data_info(i)
        assert info["img_id"] == image_id
        assert Path(info["img_path"]) == voc_dir / "JPEGImages" / f"{image_id}.jpg"
        assert (info["height"], info["width"]) == (DET_HEIGHT, DET_WIDTH)
        boxes, labels = mmdet_expected(voc_dir, image_id, voc_minus_one=True)
        assert [inst["bbox"] for inst in info["instances"]] == boxes
        assert [inst["bbox_label"] for inst in info["instances"]] == labels
        assert all(inst["ignore_flag"] == 0 for inst in info["instances"])


@pytest.mark.parametrize("coco_split, voc_split", [("train", "trainval"), ("val", "test")])
def test_mmdet_coco_dataset_loads_it(data_root, voc_dir, coco_split, voc_split):
    from mmdet.datasets import CocoDataset

    coco_dir = data_root / "coco"
    ds = CocoDataset(data_root=str(coco_dir), ann_file=f"annotations/instances_{coco_split}.json",
                     data_prefix=dict(img=f"{coco_split}/"), metainfo=dict(classes=CLASSES),
                     pipeline=[], test_mode=coco_split == "val")
    ids = voc_ids(voc_dir, voc_split)
    assert len(ds) == len(ids)
    for i, image_id in enumerate(ids):
        info = ds.get_data_info(i)
        assert Path(info["img_path"]) == coco_dir / coco_split / f"{image_id}.jpg"
        assert (info["height"], info["width"]) == (DET_HEIGHT, DET_WIDTH)
        boxes, labels = mmdet_expected(voc_dir, image_id, voc_minus_one=False)
        assert [inst["bbox"] for inst in info["instances"]] == boxes
        assert [inst["bbox_label"] for inst in info["instances"]] == labels
        assert all(inst["ignore_flag"] == 0 for inst in info["instances"])


# --------------------------------------------------------------------------- errors and CLI
@pytest.mark.parametrize("kwargs", [
    dict(train_per_class=0), dict(val_per_class=-1), dict(image_size=16), dict(seed=-1),
    dict(train_per_class=2.5),
])
def test_classification_rejects_bad_arguments(tmp_path, kwargs):
    with pytest.raises(InvalidInputError):
        make_classification_dataset(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("kwargs", [
    dict(num_trainval=0), dict(num_test=0), dict(image_size=(48, 256)), dict(image_size=128),
    dict(layouts=()), dict(layouts=("voc", "yolo")), dict(seed=-3),
])
def test_detection_rejects_bad_arguments(tmp_path, kwargs):
    with pytest.raises(InvalidInputError):
        make_detection_dataset(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


def test_classification_refuses_stale_files(tmp_path):
    make_classification_dataset(tmp_path, train_per_class=3, val_per_class=1, image_size=32)
    make_classification_dataset(tmp_path, train_per_class=3, val_per_class=1, image_size=32)
    with pytest.raises(InvalidInputError, match="circle_00002.JPEG"):
        make_classification_dataset(tmp_path, train_per_class=2, val_per_class=1, image_size=32)


def test_detection_layouts_are_optional(tmp_path):
    paths = make_detection_dataset(tmp_path, num_trainval=1, num_test=1, layouts=("coco",))
    assert paths == {"coco": tmp_path / "coco"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coco"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return run_tool("make_demo_data.py", list(args), timeout=120)


@pytest.mark.slow
def test_cli_writes_every_layout(tmp_path):
    result = run_cli("--out", str(tmp_path), "--train-per-class", "2", "--val-per-class", "1",
                     "--image-size", "32", "--num-trainval", "2", "--num-test", "1",
                     "--det-size", "64", "96")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["VOCdevkit", "coco", "imagenet"]
    assert str(tmp_path / "imagenet" / "train") in result.stdout
    assert "instances_train.json" in result.stdout
    assert len(list((tmp_path / "imagenet").rglob("*.JPEG"))) == 5 * 3
    assert voc_ids(tmp_path / "VOCdevkit" / "VOC2007", "test") == ["test_00000"]


@pytest.mark.slow
def test_cli_reports_bad_input_in_one_line(tmp_path):
    result = run_cli("--out", str(tmp_path), "--layouts", "voc", "--num-test", "0")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: num_test must be a positive integer, got 0"]

