"""``data_root`` with or without a trailing slash gives the same paths in every config, and the preflight
reads the annotation files the evaluators name (``CocoMetric(ann_file=...)``), not only the datasets'."""
from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import pytest
from mmengine.config import Config
from tooling import ROOT

from nst_det.det.datasets import check_datasets
from nst_det.engine.cli import merge_options
from nst_det.engine.preflight import TEST_LOADERS, TRAIN_LOADERS
from nst_det.utils.errors import NSTDetError

from det_fixtures import DEMO, FPN_DISTILL

CONFIGS = sorted(p.relative_to(ROOT) for p in (ROOT / "configs").rglob("*.py") if "_base_" not in p.parts)
COCO_CONFIG = FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo-coco.py"
NEW_ROOT = "/mnt/shared/datasets/x"


def strings(node, where=""):
    """Every string in a config, with where it is."""
    if isinstance(node, str):
        yield where, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{where}.{key}")
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from strings(value, f"{where}[{index}]")


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_data_root_with_and_without_a_trailing_slash_gives_the_same_paths(config, tmp_path):
    cfg = Config.fromfile(str(ROOT / config))
    old = cfg.data_root
    if cfg.get("classes_from"):  # a dataset of one's own: its class names are read when the config is merged
        annotations = tmp_path / cfg.classes_from[len(old):]
        annotations.parent.mkdir(parents=True)
        annotations.write_text(json.dumps({"images": [], "annotations": [], "categories": [{"id": 1, "name": "a"}]}))
        cfg.classes_from = str(annotations)
    merged = {}
    for new in (NEW_ROOT, NEW_ROOT + "/"):
        merged[new] = copy.deepcopy(cfg)
        merge_options(merged[new], {"data_root": new})
    plain, slashed = (merged[new].to_dict() for new in (NEW_ROOT, NEW_ROOT + "/"))
    assert plain == slashed
    found = list(strings(plain))
    # every path that was under the old root is under the new one, each a proper path (no '/xannotations')
    assert not [(w, s) for w, s in found if s.startswith(old)]
    moved = [(w, s) for w, s in found if s.startswith(NEW_ROOT)]
    assert moved and all(s == NEW_ROOT or s[len(NEW_ROOT)] == "/" for _, s in moved), moved


@pytest.fixture
def coco_root(det_data, tmp_path) -> Path:
    return Path(shutil.copytree(det_data / "coco", tmp_path / "coco"))


def coco_config(data_root: str, **options) -> Config:
    cfg = Config.fromfile(str(COCO_CONFIG))
    merge_options(cfg, {"data_root": data_root, **options})
    return cfg


@pytest.mark.parametrize("slash", ["", "/"])
def test_a_coco_run_checks_with_either_data_root(coco_root, slash):
    cfg = coco_config(f"{coco_root}{slash}")
    assert cfg.val_evaluator.ann_file == f"{coco_root}/annotations/instances_val.json"
    lines = check_datasets(cfg, TRAIN_LOADERS) + check_datasets(cfg, TEST_LOADERS)
    assert len(lines) == 3 and all("/coco/annotations/instances_" in line for line in lines)


@pytest.mark.parametrize("loaders, evaluator", [(TRAIN_LOADERS, "val_evaluator"), (TEST_LOADERS, "test_evaluator")])
def test_the_evaluators_annotation_file_is_checked(coco_root, tmp_path, loaders, evaluator):
    cfg = coco_config(f"{coco_root}/")
    cfg[evaluator] = dict(type="CocoMetric", ann_file=str(tmp_path / "elsewhere.json"), metric="bbox")
    with pytest.raises(NSTDetError, match=rf"file {tmp_path}/elsewhere\.json does not exist \({evaluator}\.ann_file\)"):
        check_datasets(cfg, loaders)
    (tmp_path / "elsewhere.json").write_text('{"images": [], "annotations": [')
    with pytest.raises(NSTDetError, match=rf"{tmp_path}/elsewhere\.json: malformed JSON"):
        check_datasets(cfg, loaders)
    shutil.copy(coco_root / "annotations" / "instances_val.json", tmp_path / "elsewhere.json")
    assert any(line.endswith(f"({evaluator}.ann_file)") for line in check_datasets(cfg, loaders))


def test_evaluators_in_a_list_are_each_checked(coco_root, tmp_path):
    cfg = coco_config(f"{coco_root}/")
    cfg.val_evaluator = [dict(type="VOCMetric", metric="mAP"),
                         dict(type="CocoMetric", ann_file=str(tmp_path / "gone.json"))]
    with pytest.raises(NSTDetError, match=r"gone\.json does not exist \(val_evaluator\[1\]\.ann_file\)"):
        check_datasets(cfg, TRAIN_LOADERS)


@pytest.mark.parametrize("config, root", [(DEMO / "faster-rcnn_r18_fpn_ce-backbone_8e_demo.py", "VOCdevkit"),
                                          (COCO_CONFIG, "coco")])
def test_images_are_found_in_folder_listings_not_by_a_stat_each(det_data, monkeypatch, config, root):
    cfg = Config.fromfile(str(config))
    merge_options(cfg, {"data_root": f"{det_data}/{root}/"})
    stats, real_stat = [], os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: stats.append(str(path)) or real_stat(path, *a, **k))
    lines = check_datasets(cfg, TRAIN_LOADERS)
    assert lines and sum(int(line.split(": ")[1].split()[0]) for line in lines) == 6  # 4 train + 2 val images
    assert stats and not [path for path in stats if path.endswith(".jpg")]  # folders and annotation files only
