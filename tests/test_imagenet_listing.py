"""ImageNet-stage samples at users' scale: mmpretrain's listing files, the folder scan without a stat per
image, and the compact sample table workers share."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from nst_det.pretrain.data import ImageFolderDataset
from nst_det.pretrain.samples import read_listing, scan_image_folder
from nst_det.utils.errors import NSTDetError
from nst_det.utils.packed import PackedStrings


def write_listing(data_root: Path, split: str, name: str = "train.txt") -> tuple[Path, list[str]]:
    """``data_root/meta/<name>``: mmpretrain's ``<class>/<file> <label>`` lines for ``data_root/<split>``."""
    classes = sorted(p.name for p in (data_root / split).iterdir() if p.is_dir())
    lines = [f"{name}/{file.name} {label}" for label, name in enumerate(classes)
             for file in sorted((data_root / split / name).iterdir())]
    path = data_root / "meta" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path, classes


def test_packed_strings_behave_as_a_list_and_pickle_as_two_arrays():
    items = ["n01440764/a.JPEG", "", "ünïcødé/ß 1.png", "x" * 300]
    packed = PackedStrings(items)
    assert list(packed) == items and len(packed) == 4
    assert packed[-1] == items[-1] and packed[1:3] == items[1:3]
    with pytest.raises(IndexError):
        packed[4]
    again = pickle.loads(pickle.dumps(packed))
    assert list(again) == items
    many = PackedStrings(f"n{i:08d}/n{i:08d}_{i}.JPEG" for i in range(10000))
    assert many.nbytes < 10000 * 40  # the bytes and one offset each; a list of str would be ~3x that
    assert len(pickle.dumps(many)) < 1.1 * many.nbytes


def test_a_listing_gives_the_folder_scans_samples_and_images(tiny_data):
    listing, classes = write_listing(tiny_data, "train")
    scanned = ImageFolderDataset(str(tiny_data), "train", crop_size=32)
    listed = ImageFolderDataset(str(tiny_data), "train", crop_size=32, ann_file="meta/train.txt", classes=classes)
    assert listed.classes == scanned.classes == classes
    assert list(listed.samples) == list(scanned.samples) and len(listed) == 20
    assert all(os.path.isfile(path) for path, _ in listed.samples)
    for index in (0, 7, 19):
        a, b = listed[(index, 3, 1)], scanned[(index, 3, 1)]
        assert torch.equal(a["inputs"], b["inputs"]) and int(a["data_samples"]) == int(b["data_samples"])


def test_listing_conventions_are_mmpretrains(tmp_path):
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "val.txt").write_text("ILSVRC2012_val_00000001.JPEG 65\n\nmy photos/a b.JPEG 3\n")
    for prefix in ("val", dict(img_path="val"), "val/"):  # mmpretrain's data_prefix='val' or dict(img_path=...)
        dataset = ImageFolderDataset(str(tmp_path), "val", ann_file="meta/val.txt", data_prefix=prefix)
        assert [(Path(p), label) for p, label in dataset.samples] == [
            (tmp_path / "val" / "ILSVRC2012_val_00000001.JPEG", 65), (tmp_path / "val" / "my photos" / "a b.JPEG", 3)]
        assert dataset.classes == [str(i) for i in range(66)]  # named by index without class names
    absolute = ImageFolderDataset("/elsewhere", "val", ann_file=str(tmp_path / "meta" / "val.txt"))
    assert absolute.samples[0][0] == "/elsewhere/val/ILSVRC2012_val_00000001.JPEG"
    names = tmp_path / "classes.txt"
    names.write_text("\n".join(f"class {i}" for i in range(100)) + "\n")
    named = ImageFolderDataset(str(tmp_path), "val", ann_file="meta/val.txt", classes=str(names))
    assert named.classes[65] == "class 65" and len(named.classes) == 100


@pytest.mark.parametrize("content, message", [
    ("a.JPEG 0\nb.JPEG\n", r"train\.txt:2: expected 'relative/path label' \(an integer class index\), got 'b.JPEG'"),
    ("a.JPEG 0\n\nb.JPEG one\n", r"train\.txt:3: expected 'relative/path label'"),
    ("a.JPEG 0\nb.JPEG 7\n", r"train\.txt:2: label 7 is not a class index \(0 to 4, 5 classes\)"),
    ("a.JPEG -1\n", r"train\.txt:1: label -1 is not a class index"),
    ("\n\n", r"listing file .*train\.txt lists no images"),
])
def test_a_bad_listing_is_named_with_its_line(tmp_path, content, message):
    (tmp_path / "train.txt").write_text(content)
    with pytest.raises(NSTDetError, match=message):
        read_listing(str(tmp_path / "train.txt"), str(tmp_path), classes=list("abcde"))


def test_a_missing_listing_or_listed_image_is_named(tmp_path, tiny_data):
    with pytest.raises(NSTDetError, match=r"listing file .*/meta/train\.txt cannot be read .*data_root"):
        ImageFolderDataset(str(tmp_path), "train", ann_file="meta/train.txt")
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "train.txt").write_text("circle/gone.JPEG 0\n")
    dataset = ImageFolderDataset(str(tmp_path), "train", ann_file="meta/train.txt", crop_size=32)
    with pytest.raises(NSTDetError, match=r"cannot decode image .*/train/circle/gone\.JPEG"):
        dataset[0]


def test_the_folder_scan_reads_listings_not_a_stat_per_image(tiny_data, monkeypatch):
    expected = [(str(tiny_data / "train" / c / f.name), label)
                for label, c in enumerate(sorted(p.name for p in (tiny_data / "train").iterdir()))
                for f in sorted((tiny_data / "train" / c).iterdir())]
    (tiny_data / "train" / "circle" / "notes.txt").write_text("not an image")
    stats = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda *a, **k: stats.append(a[0]) or real_stat(*a, **k))
    try:
        classes, samples = scan_image_folder(str(tiny_data / "train"))
    finally:
        (tiny_data / "train" / "circle" / "notes.txt").unlink()
    assert stats == []  # os.scandir's entries carry their type: no stat() per image (or per folder)
    assert list(samples) == expected and len(classes) == 5
