"""Your own dataset: the class count set in one place (top-level ``num_classes``, or ``classes_from`` a COCO
annotation file) reaches every head of both stages; the COCO-format config trains and tests end to end."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tooling import ROOT, run_tool

from nst_det.engine.cli import read_config
from nst_det.registry import MODELS
from nst_det.utils.errors import NSTDetError

from det_fixtures import NUM_TRAINVAL

CONFIGS = ROOT / "configs"
CUSTOM = CONFIGS / "detection/faster_rcnn/faster-rcnn_r18_fpn_nst-backbone_1x_custom-coco.py"
MY_CLASSES = {7: "bolt", 3: "nut", 11: "washer", 20: "screw", 15: "rivet"}  # ids as a user's tool numbered them


def class_counts(model: dict) -> dict[str, int]:
    """``{dotted path: num_classes}`` of every head config under ``model``."""
    found = {}

    def walk(node, path):
        if isinstance(node, dict):
            if "num_classes" in node:
                found[f"{path}.num_classes"] = node["num_classes"]
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, (list, tuple)):
            for index, value in enumerate(node):
                walk(value, f"{path}.{index}")
    walk(model, "model")
    return found


# config -> the heads num_classes must reach
HEADS = {
    "distill/imagenet/nst/nst_r101_r18_100e_imagenet.py": ["model.student.num_classes", "model.teacher.num_classes"],
    "distill/mmdet/nst/nst-fpn_frcnn-r50_frcnn-r18_1x_voc0712.py": ["model.student.roi_head.bbox_head.num_classes"],
    "distill/mmdet/nst/nst-fpn_cascade-r50_cascade-r18_1x_voc0712.py": [
        f"model.student.roi_head.bbox_head.{i}.num_classes" for i in range(3)],
    "distill/mmdet/nst/nst-fpn_retina-r50_retina-r18_1x_voc0712.py": ["model.student.bbox_head.num_classes"],
    "distill/mmdet/nst/nst-fpn_fcos-r50_fcos-r18_1x_coco.py": ["model.student.bbox_head.num_classes"],
    "distill/mmdet/nst/nst-fpn_cascade-r34_cascade-r18_8e_demo.py": [
        f"model.student.roi_head.bbox_head.{i}.num_classes" for i in range(3)],
    "mmdet::yolox/yolox_s_8xb8-300e_coco.py": ["model.bbox_head.num_classes"],
}


@pytest.mark.parametrize("config", sorted(HEADS))
def test_cfg_options_num_classes_reaches_every_head(config):
    name = config if config.startswith("mmdet::") else CONFIGS / config
    before = class_counts(read_config(name, {}).model)
    cfg = read_config(name, {"num_classes": 100})
    after = class_counts(cfg.model)
    assert cfg.num_classes == 100
    assert {path: after[path] for path in HEADS[config]} == {path: 100 for path in HEADS[config]}
    assert {p: n for p, n in after.items() if n != 100} == {p: n for p, n in before.items() if "rpn_head" in p}


def test_the_count_builds_into_the_heads_and_a_given_head_count_wins():
    cfg = read_config(CONFIGS / "detection/cascade_rcnn/cascade-rcnn_r18_fpn_nst-backbone_1x_voc0712.py",
                      {"num_classes": 7, "model.backbone.init_cfg": None})
    model = MODELS.build(cfg.model)
    assert [head.fc_cls.out_features for head in model.roi_head.bbox_head] == [8, 8, 8]  # 7 classes + background
    # an ImageNet teacher kept at 1000 classes for NST (no KD) while the student learns the user's 100
    cfg = read_config(CONFIGS / "distill/imagenet/nst/nst_r101_r18_100e_imagenet.py",
                      {"num_classes": 100, "model.teacher.num_classes": 1000})
    assert (cfg.model.student.num_classes, cfg.model.teacher.num_classes) == (100, 1000)
    with pytest.raises(NSTDetError, match="num_classes must be a positive integer"):
        read_config(CONFIGS / "distill/imagenet/nst/nst_r101_r18_100e_imagenet.py", {"num_classes": 0})


def my_coco_dataset(det_data: Path, root: Path) -> Path:
    """The generated COCO set in a user's own layout: ``annotations/{train,val}.json``, ``images/``, with the
    user's category names and (non-contiguous) ids."""
    shutil.copytree(det_data / "coco" / "train", root / "images")
    for image in (det_data / "coco" / "val").iterdir():
        shutil.copy(image, root / "images" / image.name)
    (root / "annotations").mkdir()
    ids = sorted(MY_CLASSES)
    for split in ("train", "val"):
        data = json.loads((det_data / "coco" / "annotations" / f"instances_{split}.json").read_text())
        data["categories"] = [dict(id=ids[i], name=MY_CLASSES[ids[i]]) for i in range(len(data["categories"]))]
        for ann in data["annotations"]:
            ann["category_id"] = ids[ann["category_id"] - 1]
        (root / "annotations" / f"{split}.json").write_text(json.dumps(data))
    return root


def test_classes_come_from_the_annotation_file(det_data, tmp_path):
    root = my_coco_dataset(det_data, tmp_path / "my_dataset")
    cfg = read_config(CUSTOM, {"data_root": f"{root}/"})
    names = tuple(MY_CLASSES[i] for i in sorted(MY_CLASSES))
    assert cfg.classes_from == f"{root}/annotations/train.json" and cfg.num_classes == 5
    assert cfg.model.roi_head.bbox_head.num_classes == 5
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        assert cfg[loader].dataset.metainfo.classes == names
    with pytest.raises(NSTDetError, match="classes_from .*/nowhere/annotations/train.json: no such file"):
        read_config(CUSTOM, {"data_root": f"{tmp_path}/nowhere/"})


@pytest.mark.slow
def test_own_coco_format_dataset_trains_and_tests_end_to_end(det_data, weight_files, tmp_path):
    """The shipped custom-dataset config on generated data in a user's layout: 2 iterations, then
    tools/test_det.py reports COCO AP per class with the user's class names (about 40 s on 2 cores)."""
    root = my_coco_dataset(det_data, tmp_path / "my_dataset")
    loaders = ("train_dataloader", "val_dataloader", "test_dataloader")
    small = "(320,240)"  # the stock 1333x800 takes long on 2 cores
    options = [f"data_root={root}/", f"backbone_checkpoint={weight_files['resnet18']}", "train_cfg.max_epochs=1",
               "train_dataloader.batch_size=2", "default_hooks.logger.interval=1",
               "train_dataloader.dataset.pipeline.2.scale=" + small,
               *[f"{loader}.dataset.pipeline.1.scale={small}" for loader in loaders[1:]],
               *[f"{loader}.num_workers=0" for loader in loaders],
               *[f"{loader}.persistent_workers=False" for loader in loaders]]
    work = tmp_path / "work"
    train = run_tool("train_det.py", [str(CUSTOM), "--work-dir", str(work), "--cfg-options", *options])
    assert train.returncode == 0, train.stderr[-3000:]
    assert f"Epoch(train) [1][{NUM_TRAINVAL // 2}/{NUM_TRAINVAL // 2}]" in train.stdout + train.stderr
    test = run_tool("test_det.py", [str(CUSTOM), str(work), "--work-dir", str(tmp_path / "test"),
                                    "--cfg-options", *options, "model.test_cfg.rcnn.score_thr=0.0"])
    assert test.returncode == 0, test.stderr[-3000:]
    assert "coco/bbox_mAP" in test.stdout
    assert all(f"  {name} " in test.stdout for name in MY_CLASSES.values())  # the per-class table, the user's names
