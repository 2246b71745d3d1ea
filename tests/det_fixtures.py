"""Shared, session-scoped fixtures of the detection tests (import the ones a module uses).

Everything is small: 4 train / 2 test images of 96x128 px in VOC and COCO layout, backbone files in
the ImageNet-stage export format (torchvision ResNet state dict without ``fc.*``), and a demo
teacher detector checkpoint.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest
import torch
import torchvision
from mmengine.config import Config
from tooling import ROOT, tool_env

from nst_det.data import make_detection_dataset
from nst_det.det import load_model_config
from nst_det.engine.cli import merge_options
from nst_det.registry import MODELS

DEMO = ROOT / "configs" / "detection" / "demo"  # the CPU-sized demo detectors
FPN_DISTILL = ROOT / "configs" / "distill" / "mmdet"  # <method>/<method>-fpn_<teacher>_<student>_...py
TEACHER_CONFIG = DEMO / "faster-rcnn_r34_fpn_ce-backbone_8e_demo.py"
NUM_TRAINVAL, NUM_TEST = 4, 2


@pytest.fixture(scope="session")
def det_data(tmp_path_factory) -> Path:
    """``root/VOCdevkit/VOC2007/...`` and ``root/coco/...`` with 4 trainval and 2 test images."""
    root = tmp_path_factory.mktemp("det_data")
    make_detection_dataset(root, num_trainval=NUM_TRAINVAL, num_test=NUM_TEST, image_size=(96, 128), seed=1)
    return root


def backbone_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """A torchvision ResNet's weights without the classifier: the ImageNet-stage export format."""
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)()
    return {k: v for k, v in model.state_dict().items() if not k.startswith("fc.")}


def build_model(config, **variables: str):
    """``MODELS.build`` of a config's model after ``--cfg-options``-style variable overrides."""
    cfg = Config.fromfile(str(config))
    merge_options(cfg, variables)
    return MODELS.build(cfg.model)


def feature_checkpoint(teacher_config, path: Path) -> Path:
    """A checkpoint with random backbone + neck weights for the detector of ``teacher_config``."""
    teacher = MODELS.build(load_model_config(str(teacher_config)))
    weights = {k: v for k, v in teacher.state_dict().items() if k.startswith(("backbone.", "neck."))}
    torch.save({"state_dict": weights, "meta": {"note": "test teacher"}}, path)
    return path


@pytest.fixture(scope="session")
def weight_files(tmp_path_factory) -> dict[str, Path]:
    """Backbone exports (``resnet18``, ``resnet34``, ``resnet50``, ``resnet18_partial`` without
    ``layer4``) and ``teacher``: a demo R-34-FPN teacher detector checkpoint."""
    root = tmp_path_factory.mktemp("weights")
    files = {}
    for arch in ("resnet18", "resnet34", "resnet50"):
        files[arch] = root / f"backbone_{arch}.pth"
        torch.save(backbone_state_dict(arch), files[arch])
    files["resnet18_partial"] = root / "backbone_resnet18_partial.pth"
    torch.save({k: v for k, v in backbone_state_dict("resnet18").items() if not k.startswith("layer4.")},
               files["resnet18_partial"])
    cfg = Config.fromfile(str(TEACHER_CONFIG))
    cfg.model.backbone.init_cfg = None
    teacher = MODELS.build(cfg.model)
    files["teacher"] = root / "teacher_r34_demo.pth"
    torch.save({"state_dict": teacher.state_dict(), "meta": {"epoch": 12}}, files["teacher"])
    return files


def tiny_run_options(data_root: Path, weights: dict[str, Path], work_dir: Optional[Path] = None) -> list[str]:
    """``--cfg-options`` that make a demo config train 2 iterations (4 images, batch 2) and test."""
    return [
        f"data_root={data_root}/", f"backbone_checkpoint={weights['resnet18']}",
        f"teacher_checkpoint={weights['teacher']}",
        "train_cfg.max_epochs=1", "train_cfg.val_interval=1", "default_hooks.checkpoint.interval=1",
        "default_hooks.logger.interval=1",
        "train_dataloader.batch_size=2", "train_dataloader.num_workers=0",
        "train_dataloader.persistent_workers=False", "val_dataloader.num_workers=0",
        "val_dataloader.persistent_workers=False", "test_dataloader.num_workers=0",
        "test_dataloader.persistent_workers=False",
        "teacher_check=False",  # the teacher file holds a random detector: near-zero mAP by design
    ]


def plain_pycocotools(gt_json: Path, det_json: Path):
    """COCOeval ``stats`` (AP, AP50, AP75, APs, APm, APl, AR...) of ``det_json`` against ``gt_json``."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = COCO(str(gt_json))
    evaluation = COCOeval(gt, gt.loadRes(str(det_json)), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return evaluation.stats


@pytest.fixture(scope="session")
def stock(det_data, tmp_path_factory) -> dict[str, Path]:
    """Checkpoints written by stock mmengine (``tests/make_stock_checkpoints.py``) and the marker path
    their nested payload would create."""
    out = tmp_path_factory.mktemp("stock")
    marker = out / "marker"
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "make_stock_checkpoints.py"),
                             f"{det_data}/VOCdevkit/", str(out), str(marker)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600, env=tool_env())
    assert result.returncode == 0, result.stderr[-3000:]
    assert not marker.exists()
    return {"epoch_1": out / "runner" / "epoch_1.pth", "numpy_meta": out / "numpy_meta.pth",
            "r50_voc": out / "r50_voc.pth", "evil_nested": out / "evil_nested.pth", "marker": marker}
