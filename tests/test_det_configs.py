"""Every detection config (configs/detection/, configs/distill/mmdet/, the entry point configs/faster_rcnn_nst.py)
builds, with its files pointed at small stand-ins through the config's own top-level variables (as
``--cfg-options`` would)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

import pytest
import torch
from mmengine.config import Config

from nst_det.det import NSTDistillDetector, check_backbone_file, load_model_config
from nst_det.pretrain.classifiers import build_classifier
from nst_det.pretrain.students import STUDENTS, student_backbone

from det_fixtures import ROOT, build_model, feature_checkpoint

FAMILY_LEVELS = {"FasterRCNN": ["p2", "p3", "p4", "p5"], "CascadeRCNN": ["p2", "p3", "p4", "p5"],
                 "RetinaNet": ["p3", "p4", "p5", "p6", "p7"], "FCOS": ["p3", "p4", "p5", "p6", "p7"]}
CONFIGS = sorted(p for p in (ROOT / "configs").rglob("*.py") if "_base_" not in p.parts and "imagenet" not in p.parts)
METHODS = ("nst", "mse", "pkd", "cwd")  # configs/distill/mmdet/<method>/


def alias_target(config: Path) -> Optional[Path]:
    """The config an alias stands for (a file whose one statement is ``_base_ = './<path>.py'``)."""
    code = [line for line in config.read_text().splitlines() if line.strip() and not line.startswith("#")]
    match = re.fullmatch(r"_base_ = '\./([\w./-]+\.py)'", code[0]) if len(code) == 1 else None
    return config.parent / match.group(1) if match else None


ALIASES = [c for c in CONFIGS if alias_target(c)]


def build_param(config: Path):
    """Demo configs build in the fast loop (the demo detectors, the NST ones of each family and, of the FPN
    comparison's other methods, the Faster R-CNN ones: the losses the demo has no other config of); real-size ones
    (R-50/R-101 teachers, seconds each), the comparison's other configs and the alias (the same config as its
    target, see test_the_entry_point_is_its_new_config) in the slow one."""
    demo = "demo" in config.parts or (config.parent.name == "nst" and "_demo" in config.name)
    new_loss = config.parent.name in ("mse", "pkd", "cwd") and config.name.endswith("frcnn-r18_8e_demo.py")
    slow = (not demo or config.parent.name in METHODS[1:]) and not new_loss or config in ALIASES
    return pytest.param(config, marks=pytest.mark.slow) if slow else config


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    """A backbone export of each student, written by the ImageNet stage's export path (random weights)."""
    root = tmp_path_factory.mktemp("config_weights")
    out = {}
    torch.manual_seed(0)
    for arch in ("resnet18", "resnet34", "resnet50", "mobilenet_v2"):
        out[arch] = root / f"{arch}.pth"
        torch.save(student_backbone(build_classifier(arch, 10).state_dict(), arch), out[arch])
    return out


def student_of(backbone: dict) -> str:
    """The student architecture whose export fits a config's backbone (``ResNet(depth=34)`` -> ``resnet34``)."""
    return next(arch for arch, spec in STUDENTS.items() if all(backbone.get(k) == v for k, v in spec.mmdet.items()))


def test_the_config_list_covers_headline_variants_and_demo():
    names = {p.relative_to(ROOT / "configs").as_posix() for p in CONFIGS}
    frcnn, nst, mse = "detection/faster_rcnn/faster-rcnn_", "distill/mmdet/nst/nst-fpn_", "distill/mmdet/mse/mse-fpn_"
    assert {"faster_rcnn_nst.py",  # the entry point
            # plain detectors from the CE / NST backbone, VOC and COCO
            f"{frcnn}r18_fpn_nst-backbone_1x_voc0712.py", f"{frcnn}r18_fpn_ce-backbone_1x_voc0712.py",
            f"{frcnn}r18_fpn_nst-backbone_1x_coco.py", f"{frcnn}r18_fpn_ce-backbone_1x_coco.py",
            # FPN NST and its same-teacher MSE control, VOC, COCO and demo
            f"{nst}frcnn-r50_frcnn-r18_1x_voc0712.py", f"{nst}frcnn-r101_frcnn-r18_1x_coco.py",
            f"{nst}frcnn-r34_frcnn-r18_8e_demo.py", "detection/demo/faster-rcnn_r34_fpn_ce-backbone_8e_demo.py",
            f"{mse}frcnn-r50_frcnn-r18_1x_voc0712.py", f"{mse}frcnn-r101_frcnn-r18_1x_coco.py",
            f"{mse}frcnn-r34_frcnn-r18_8e_demo.py",
            # students beyond ResNet-18
            f"{frcnn}r34_fpn_nst-backbone_1x_voc0712.py", f"{frcnn}r50_fpn_nst-backbone_1x_voc0712.py",
            f"{frcnn}mbv2_fpn_nst-backbone_1x_voc0712.py",
            # other detector families: RetinaNet, Cascade R-CNN, FCOS (plain students, teachers, NST, demo)
            "detection/retinanet/retinanet_r18_fpn_nst-backbone_1x_voc0712.py",
            "detection/retinanet/retinanet_r18_fpn_nst-backbone_1x_coco.py",
            f"{nst}retina-r50_retina-r18_1x_voc0712.py", f"{nst}retina-r50_retina-r18_1x_coco.py",
            f"{nst}retina-r34_retina-r18_8e_demo.py",
            "detection/cascade_rcnn/cascade-rcnn_r50_fpn_1x_voc0712.py", f"{nst}cascade-r50_cascade-r18_1x_voc0712.py",
            f"{nst}cascade-r101_cascade-r18_1x_coco.py", f"{nst}cascade-r34_cascade-r18_8e_demo.py",
            "detection/fcos/fcos_r50_fpn_gn-head_1x_voc0712.py", "detection/fcos/fcos_r50_fpn_gn-head_1x_coco.py",
            "detection/fcos/fcos_r18_fpn_nst-backbone_1x_voc0712.py",
            "detection/fcos/fcos_r18_fpn_nst-backbone_1x_coco.py",
            f"{nst}fcos-r50_fcos-r18_1x_voc0712.py", f"{nst}fcos-r50_fcos-r18_1x_coco.py",
            "detection/demo/fcos_r18_fpn_nst-backbone_8e_demo.py", "detection/demo/fcos_r34_fpn_ce-backbone_8e_demo.py",
            f"{nst}fcos-r34_fcos-r18_8e_demo.py"} <= names


def method_of(config: Path) -> str:
    """The FPN loss kind a distillation config names: its folder under configs/distill/mmdet/, else its name."""
    if config.parent.name in METHODS:
        return config.parent.name
    return "mse" if "fpn_mse" in config.name or config.name.startswith("mse-fpn") else "nst"


def nst_counterpart(config: Path) -> Path:
    """The NST config a comparison config differs from in the loss alone."""
    if config.parent.name in METHODS:
        return config.parent.parent / "nst" / config.name.replace(f"{config.parent.name}-fpn", "nst-fpn")
    return config.parent / config.name.replace("fpn_mse", "nst").replace("mse-fpn", "nst-fpn")


def test_every_family_and_dataset_has_each_fpn_method():
    bases = {c.name[len("nst-fpn_"):] for c in CONFIGS if c.parent.name == "nst"}
    assert len(bases) == 13  # Faster R-CNN VOC/COCO/demo/demo-COCO; RetinaNet, FCOS, Cascade R-CNN VOC/COCO/demo
    for method in METHODS:
        assert {c.name[len(f"{method}-fpn_"):] for c in CONFIGS if c.parent.name == method} == bases, method


def test_the_entry_point_is_its_new_config():
    """The mission's ``configs/faster_rcnn_nst.py`` is the one alias (tests/test_config_names.py: no other old name
    remains)."""
    assert [c.relative_to(ROOT / "configs").as_posix() for c in ALIASES] == ["faster_rcnn_nst.py"]
    for alias in ALIASES:
        target = alias_target(alias)
        assert target.is_file(), alias
        got, expected = Config.fromfile(str(alias)).to_dict(), Config.fromfile(str(target)).to_dict()
        assert got == expected, alias


@pytest.mark.parametrize("config", [build_param(c) for c in CONFIGS],
                         ids=lambda p: p.relative_to(ROOT / "configs").as_posix())
def test_config_builds(config: Path, files, tmp_path):
    cfg = Config.fromfile(str(config))
    assert cfg.default_scope == "mmdet" and "PlainCheckpointHook" in {h["type"] for h in cfg.nst_det_hooks}
    assert cfg.runner_type == "mmdet.NSTDetRunner"
    assert cfg.default_hooks.checkpoint.backend_args == dict(backend="atomic_local")
    model_cfg = cfg.model.get("student", cfg.model)
    variables = {"backbone_checkpoint": str(files[student_of(model_cfg.backbone)])}
    if cfg.get("classes_from"):  # a dataset of one's own: its class names are read from its annotation file
        data_root = tmp_path / "own"
        annotations = data_root / cfg.classes_from[len(cfg.data_root):]
        annotations.parent.mkdir(parents=True)
        annotations.write_text(json.dumps({"images": [], "annotations": [], "categories": [{"id": 1, "name": "a"}]}))
        variables["data_root"] = f"{data_root}/"
    if "teacher_checkpoint" in cfg:
        variables["teacher_checkpoint"] = str(feature_checkpoint(cfg.teacher_config, tmp_path / "teacher.pth"))
    if "classes_from" in cfg:  # a dataset of one's own: the heads take its category count
        annotations = tmp_path / "train.json"
        categories = [{"id": i, "name": f"class{i}"} for i in (3, 1, 2)]
        annotations.write_text(json.dumps({"images": [], "annotations": [], "categories": categories}))
        variables["classes_from"] = str(annotations)
    model = build_model(config, **variables)
    if "classes_from" in cfg:
        assert model.roi_head.bbox_head.num_classes == 3
    assert check_backbone_file(model.backbone) == variables["backbone_checkpoint"]
    if isinstance(model, NSTDistillDetector):
        # the levels the config names, and its family's: P2-P5 for two-stage detectors (P6 of their FPN is a
        # strided copy of P5), P3-P7 for single-stage ones (P6, P7 are convolutions of their own)
        levels = [lv.name for lv, _ in model.levels]
        assert levels == list(cfg.model.distill.taps) == FAMILY_LEVELS[cfg.model.student.type]
        assert not any(k.startswith("teacher") for k in model.state_dict())
        assert type(model.teacher).__name__ == cfg.model.student.type  # a teacher of the same family
        # a comparison config differs from its NST config in the loss alone; NST configs use the shared block's loss
        method = method_of(config)
        assert model.distill_core.kinds == [method]
        if method == "nst":
            assert cfg.model.distill.loss == cfg.nst_fpn.distill.loss
        assert not model.distill_core.adapters  # equal channels
        if method != "nst":
            nst_cfg = Config.fromfile(str(nst_counterpart(config)))
            assert cfg.model.teacher == nst_cfg.model.teacher
            assert {k: v for k, v in cfg.model.distill.items() if k not in ("loss", "adapt_channels")} \
                == {k: v for k, v in nst_cfg.model.distill.items() if k != "loss"}
            assert cfg.train_cfg == nst_cfg.train_cfg and cfg.param_scheduler == nst_cfg.param_scheduler


@pytest.mark.parametrize("name, arch", [("faster-rcnn_r34_fpn_nst-backbone_1x_voc0712.py", "resnet34"),
                                        ("faster-rcnn_r50_fpn_nst-backbone_1x_voc0712.py", "resnet50"),
                                        ("faster-rcnn_mbv2_fpn_nst-backbone_1x_voc0712.py", "mobilenet_v2")])
def test_new_student_configs_load_the_whole_export(name, arch, files):
    """The backbone's Pretrained init takes every tensor of the student's export; the FPN fits its channels."""
    model = build_model(ROOT / "configs" / "detection" / "faster_rcnn" / name, backbone_checkpoint=str(files[arch]))
    exported = torch.load(files[arch], weights_only=True)
    assert set(model.backbone.state_dict()) == set(exported)  # no missing, no unexpected key
    model.backbone.init_weights()
    for key, value in exported.items():
        assert torch.equal(model.backbone.state_dict()[key], value), key
    model.eval()
    with torch.no_grad():
        levels = model.neck(model.backbone(torch.randn(1, 3, 64, 64)))
    assert [tuple(x.shape[1:]) for x in levels[:4]] == [(256, 16, 16), (256, 8, 8), (256, 4, 4), (256, 2, 2)]


PYTORCH_STYLE = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)


def test_fcos_configs_are_the_stock_fcos_in_pytorch_style():
    """mmdet's FCOS 1x is Caffe-style; ours (teachers, students, demo) normalise as the torchvision students do,
    and the model base the VOC and demo configs use is the stock COCO model with only that changed."""
    stock = load_model_config("mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py")
    assert stock.backbone.style == "caffe" and not stock.data_preprocessor.bgr_to_rgb  # why ours differ
    coco = Config.fromfile(str(ROOT / "configs" / "detection/fcos/fcos_r50_fpn_gn-head_1x_coco.py")).model
    base = Config.fromfile(str(ROOT / "configs" / "_base_" / "fcos_r50_fpn_gn-head.py")).model
    assert coco.to_dict() == base.to_dict()
    for key in ("neck", "bbox_head", "test_cfg"):
        assert coco[key].to_dict() == stock[key].to_dict(), key
    assert {k: v for k, v in coco.backbone.items() if k not in ("style", "norm_cfg", "init_cfg")} \
        == {k: v for k, v in stock.backbone.items() if k not in ("style", "norm_cfg", "init_cfg")}
    for name in ("detection/fcos/fcos_r50_fpn_gn-head_1x_voc0712.py",
                 "distill/mmdet/nst/nst-fpn_fcos-r50_fcos-r18_1x_voc0712.py",
                 "distill/mmdet/nst/nst-fpn_fcos-r50_fcos-r18_1x_coco.py",
                 "distill/mmdet/nst/nst-fpn_fcos-r34_fcos-r18_8e_demo.py"):
        cfg = Config.fromfile(str(ROOT / "configs" / name))
        models = [cfg.model.student, load_model_config(cfg.teacher_config)] if "student" in cfg.model else [cfg.model]
        for model in models:
            assert model.backbone.style == "pytorch", name
            assert {k: model.data_preprocessor[k] for k in PYTORCH_STYLE} == PYTORCH_STYLE, name
