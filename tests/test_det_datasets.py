"""Up-front dataset checks: every problem is one clear error naming the file."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Optional

import pytest
from mmengine.config import Config
from tooling import run_tool

from nst_det.det.datasets import check_datasets
from nst_det.engine.cli import merge_options
from nst_det.utils.errors import NSTDetError

from det_fixtures import DEMO, FPN_DISTILL

VOC_CONFIG = DEMO / "faster-rcnn_r18_fpn_ce-backbone_8e_demo.py"
COCO_CONFIG = FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo-coco.py"
LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


@pytest.fixture
def data(det_data, tmp_path) -> Path:
    """A private copy of the tiny dataset, to break."""
    return Path(shutil.copytree(det_data, tmp_path / "data"))


def check(config: Path, data_root: Path, options: Optional[dict] = None) -> list[str]:
    cfg = Config.fromfile(str(config))
    merge_options(cfg, {"data_root": f"{data_root}/", **(options or {})})
    return check_datasets(cfg, LOADERS)


def voc(data: Path) -> Path:
    return data / "VOCdevkit" / "VOC2007"


def test_the_generated_data_passes_and_val_test_are_checked_once(data):
    summaries = check(VOC_CONFIG, data / "VOCdevkit") + check(COCO_CONFIG, data / "coco")
    assert len(summaries) == 4 and "trainval.txt: 4 images" in summaries[0]


def test_a_missing_data_folder_names_it(tmp_path):
    with pytest.raises(NSTDetError, match=f"folder {tmp_path}/nowhere/ does not exist .*data_root"):
        check(VOC_CONFIG, tmp_path / "nowhere")


def test_malformed_xml_names_the_file(data):
    xml = voc(data) / "Annotations" / "trainval_00001.xml"
    xml.write_text(xml.read_text()[:-30])
    with pytest.raises(NSTDetError, match=f"{xml}: malformed XML"):
        check(VOC_CONFIG, data / "VOCdevkit")


@pytest.mark.parametrize("name, tag, value, message", [
    ("test_00000", "xmin", "left", "malformed annotation, <xmin> is 'left'"),  # not a number
    ("trainval_00002", "xmax", "500", "box of .* xmax 500.* outside the 128x96 image"),
])
def test_a_bad_voc_coordinate_names_the_file(data, name, tag, value, message):
    xml = voc(data) / "Annotations" / f"{name}.xml"
    text = xml.read_text()
    start = text.index(f"<{tag}>") + len(f"<{tag}>")
    xml.write_text(text[:start] + value + text[text.index(f"</{tag}>"):])
    with pytest.raises(NSTDetError, match=f"{xml}: {message}"):
        check(VOC_CONFIG, data / "VOCdevkit")


def test_an_empty_image_list_names_it(data):
    listing = voc(data) / "ImageSets" / "Main" / "trainval.txt"
    listing.write_text("\n")
    with pytest.raises(NSTDetError, match=f"{listing} lists no images \\(train_dataloader.dataset\\)"):
        check(VOC_CONFIG, data / "VOCdevkit")


def test_a_voc_annotation_without_objects_is_refused_unless_allowed(data):
    xml = voc(data) / "Annotations" / "trainval_00003.xml"
    text = xml.read_text()
    xml.write_text(text[:text.index("<object>")] + "</annotation>\n")
    with pytest.raises(NSTDetError, match=f"{xml}: no <object> in the annotation .*allow_images_without_objects=True"):
        check(VOC_CONFIG, data / "VOCdevkit")
    summary = check(VOC_CONFIG, data / "VOCdevkit", {"data_check.allow_images_without_objects": True})[0]
    assert "trainval.txt: 4 images" in summary


def test_an_unknown_voc_class_name_is_refused_unless_allowed(data):
    xml = voc(data) / "Annotations" / "test_00001.xml"
    text = xml.read_text()
    name = text[text.index("<name>") + 6:text.index("</name>")]
    xml.write_text(text.replace(f"<name>{name}</name>", "<name>hexagon</name>", 1))
    with pytest.raises(NSTDetError, match=f"{xml}: unknown class name 'hexagon': not one of the dataset's 5 classes "
                                          r"\(circle, square, triangle, cross, ring\); set data_check=.*"):
        check(VOC_CONFIG, data / "VOCdevkit")
    summaries = check(VOC_CONFIG, data / "VOCdevkit", {"data_check.allow_unknown_classes": True})
    assert "test.txt: 2 images" in summaries[1]  # the object is skipped, as mmdet's VOCDataset does


def test_an_unknown_data_check_option_is_an_error(data):
    with pytest.raises(NSTDetError, match="data_check: unknown option.* allow_empty .*known: allow_images_"):
        check(VOC_CONFIG, data / "VOCdevkit", {"data_check.allow_empty": True})


def test_a_missing_voc_image_names_it(data):
    image = voc(data) / "JPEGImages" / "trainval_00003.jpg"
    image.unlink()
    with pytest.raises(NSTDetError, match=f"image file {image} does not exist"):
        check(VOC_CONFIG, data / "VOCdevkit")


def test_bad_json_names_the_file(data):
    ann = data / "coco" / "annotations" / "instances_val.json"
    ann.write_text(ann.read_text().replace('"images"', '"images" ,,', 1))
    with pytest.raises(NSTDetError, match=f"{ann}: malformed JSON \\(line"):
        check(COCO_CONFIG, data / "coco")


def test_coco_json_without_annotations_names_the_file(data):
    ann = data / "coco" / "annotations" / "instances_train.json"
    content = json.loads(ann.read_text())
    del content["annotations"]
    ann.write_text(json.dumps(content))
    with pytest.raises(NSTDetError, match=f"{ann}: malformed COCO annotations, no 'annotations' list"):
        check(COCO_CONFIG, data / "coco")


@pytest.mark.parametrize("field, value, message", [
    ("bbox", [100, 10, 60, 20], r"box \[x 100, y 10, w 60, h 20\] of annotation \d+ lies outside its 128x96 image"),
    ("bbox", [10, 10, -5, 20], r"box \[x 10, y 10, w -5, h 20\] of annotation \d+ lies outside its 128x96 image"),
    ("image_id", 999, r"annotation \d+ refers to image id 999, which is not in 'images'"),
    ("category_id", 77, r"annotation \d+ has category id 77, which is not in 'categories'"),
])
def test_a_bad_coco_annotation_names_the_file(data, field, value, message):
    ann = data / "coco" / "annotations" / "instances_train.json"
    content = json.loads(ann.read_text())
    content["annotations"][0][field] = value
    ann.write_text(json.dumps(content))
    with pytest.raises(NSTDetError, match=f"{ann}: {message}"):
        check(COCO_CONFIG, data / "coco")


def test_a_missing_coco_image_names_it(data):
    image = data / "coco" / "val" / "test_00001.jpg"
    image.unlink()
    with pytest.raises(NSTDetError, match=f"image file {image} does not exist"):
        check(COCO_CONFIG, data / "coco")


@pytest.mark.slow
def test_train_det_stops_with_one_error_line(data, tmp_path):
    (voc(data) / "Annotations" / "trainval_00000.xml").write_text("<annotation><object>")
    result = run_tool("train_det.py", [str(VOC_CONFIG), "--work-dir", str(tmp_path / "work"),
                                       "--cfg-options", f"data_root={data}/VOCdevkit/"])
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "trainval_00000.xml: malformed XML" in result.stderr and "Traceback" not in result.stderr
