"""Every shipped FPN-distillation config trains with a teacher that failed to train (random weights), in the regime
tools/sweep_distill.py chose the shipped settings in: the config's real-size teacher (R-50/R-101) from a stock
mmengine checkpoint, generated data in the real VOC07+12 / COCO 2017 layouts, small images, batch 2 with the
config's lr scaled to it (as --auto-scale-lr does: the configs' lr is for 16 images per step; at batch 2 with the
unscaled lr 0.02 the undistilled COCO Faster/Cascade R-CNN already diverge, 5.7 -> 246), its clipping, its warm-ups
(LR and distillation) compressed to half the run. The worst case (the unscaled lr against an undistilled run) is
the sweep's (tools/sweep_distill.py). The divergence guard is on.
The detection losses must stay within the sweep's bound of their first value, and the final checkpoint, loaded
into the plain student detector, must keep detections on the test images. Two more runs through the tools: the
headline config as the issue that asked for these tests ran it (one epoch at the shipped, unscaled lr, then
tools/test_det.py: loss_cls falls, detections kept at the stock threshold), and the guard stopping the settings
the configs shipped before the sweep (weight 50 per level, no warm-up) with one line.

In this process but the last two (tools/train_det.py, tools/test_det.py); about 10 minutes on 2 cores."""
from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from tooling import run_tool

from nst_det.data.real_layout import make_real_layout_dataset
from nst_det.det.stability import detection_loss, distill_prefix
from nst_det.distill import loss_kind
from nst_det.engine.short_runs import ShortRun, short_run_config, train_short, write_random_teacher
from nst_det.registry import MODELS

from _lib.sweep import BOUND, FAMILIES
from det_fixtures import ROOT

pytestmark = pytest.mark.slow

ITERS = 8
SCALE = (128, 96)
# PKD standardises each channel over the batch's N·H·W positions. P7 (stride 128) of a 128x96 image is one position,
# so at batch 2 over two values: its 1/std gradient made RetinaNet's PKD runs chaotic at that size (collapsing at
# weight 3 but not 10 on COCO). PKD on P3-P7 trains at twice the size (P7 2x2); real images give P7 dozens.
PKD_P7_SCALE = (256, 192)


def shipped_distillation_configs() -> list[Path]:
    """The FPN-distillation configs users train (configs/distill/mmdet/<method>/, VOC and COCO; not the demo's,
    which the demo runs)."""
    return sorted(path for path in (ROOT / "configs" / "distill" / "mmdet").glob("*/*.py")
                  if not path.parent.name.startswith("_") and "_demo" not in path.stem)


CONFIGS = shipped_distillation_configs()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("stability")
    paths = make_real_layout_dataset(root / "data", num_trainval=2 * ITERS, num_test=4, image_size=(192, 256))
    torch.manual_seed(0)
    backbone = root / "backbone_resnet18.pth"  # the ImageNet-stage export format, random weights
    torch.save({k: v for k, v in torchvision.models.resnet18().state_dict().items() if not k.startswith("fc.")},
               backbone)
    return dict(root=root, voc=f"{paths['voc']}/", coco=f"{paths['coco']}/", backbone=str(backbone), teachers={})


def teacher_file(inputs: dict, config: str) -> str:
    """A random-weight stock checkpoint of the teacher config (one per teacher, shared by the configs)."""
    if config not in inputs["teachers"]:
        path = inputs["root"] / "teachers" / f"{Path(config).stem}.pth"
        inputs["teachers"][config] = str(write_random_teacher(config, path, seed=0))
    return inputs["teachers"][config]


def family_of(cfg: Config):
    """The sweep's family of a distillation config (its CPU-sized head options: ``light``)."""
    return next(spec for spec in FAMILIES.values() if spec.detector == cfg.model.student.type)


def short_run(config: Path, inputs: dict, work: Path, **changes) -> ShortRun:
    """The config as shipped, at the sweep's scale: its warm-ups (if any) compressed to half the run."""
    cfg = Config.fromfile(str(config))
    family = family_of(cfg)
    lr_warmup = any(not s.get("by_epoch", True) for s in cfg.get("param_scheduler", []))
    lr_warmup_iters = None if family.own_lr_warmup else ITERS // 2 if lr_warmup else 0  # FCOS: lr/3, its own
    distill = {"warmup_iters": ITERS // 2} if cfg.model.distill.get("warmup_iters") else {}
    return ShortRun(
        config=str(config), work_dir=str(work),
        variables=dict(data_root=inputs["coco" if "coco" in config.stem else "voc"],
                       backbone_checkpoint=inputs["backbone"],
                       teacher_checkpoint=teacher_file(inputs, cfg.teacher_config)),
        iters=ITERS, seed=0, distill=distill,
        image_scale=PKD_P7_SCALE if cfg.model.distill.loss.type == "PKDLoss" and "p7" in cfg.model.distill.taps
        else SCALE, lr_warmup_iters=lr_warmup_iters,
        save_checkpoint=True, scale_lr=True, options={f"model.student.{k}": v for k, v in family.light.items()},
        **changes)


def student_detections(run: ShortRun) -> int:
    """Finite detections of the plain student, loaded strictly from the run's last checkpoint, on the test images,
    at score threshold 0: 8 iterations do not lift a detector's scores over its 0.05 test threshold, but a
    detector whose weights the distillation wrecked predicts no finite box at all."""
    cfg = short_run_config(run)
    init_default_scope("mmdet")
    student_cfg = copy.deepcopy(cfg.model.student)
    (student_cfg.test_cfg.get("rcnn") or student_cfg.test_cfg).score_thr = 0.0
    student = MODELS.build(student_cfg)
    checkpoint = torch.load(Path(run.work_dir) / f"iter_{run.iters}.pth", weights_only=True)
    student.load_state_dict(checkpoint["state_dict"], strict=True)
    student.eval()
    kept = 0
    with torch.no_grad():
        for batch in Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader)):
            for sample in student.test_step(batch):
                boxes, scores = sample.pred_instances.bboxes, sample.pred_instances.scores
                kept += int((torch.isfinite(boxes).all(dim=1) & torch.isfinite(scores)).sum())
    return kept


def test_every_family_and_dataset_is_covered():
    names = {c.name for c in CONFIGS}
    assert {Path(c).name for spec in FAMILIES.values() for key, c in spec.configs.items() if key != "demo"} <= names
    assert {"mse-fpn_frcnn-r50_frcnn-r18_1x_voc0712.py", "mse-fpn_frcnn-r101_frcnn-r18_1x_coco.py"} <= names


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_trains_with_a_random_teacher(config: Path, inputs, tmp_path):
    run = short_run(config, inputs, tmp_path / "work")
    result = train_short(run)
    assert result.error is None, result.error  # neither non-finite nor stopped by the divergence guard
    prefix = distill_prefix(loss_kind(Config.fromfile(str(config)).model.distill.loss.type))
    detection = [detection_loss(r, prefix) for r in result.losses]
    assert len(detection) == ITERS and all(v == v for v in detection)
    assert sum(detection[-3:]) / 3 <= BOUND * detection[0], detection
    assert student_detections(run) > 0


def headline_options(inputs: dict, config: Path) -> list[str]:
    """The issue's run of the headline config: real VOC07+12 layout, random backbone and random R-50-FPN teacher
    (a stock checkpoint), one epoch (3 x 16 images, the VOC RepeatDataset: 24 iterations) at batch 2 and the
    shipped lr (not scaled), small images, no validation, every iteration logged."""
    cfg = Config.fromfile(str(config))
    return [f"data_root={inputs['voc']}", f"backbone_checkpoint={inputs['backbone']}",
            f"teacher_checkpoint={teacher_file(inputs, cfg.teacher_config)}", "teacher_check=False",
            "train_cfg.max_epochs=1", "randomness.seed=0", "default_hooks.logger.interval=1",
            "val_dataloader=None", "val_cfg=None", "val_evaluator=None", "train_dataloader.batch_size=2",
            "train_dataloader.num_workers=0", "train_dataloader.persistent_workers=False",
            "test_dataloader.num_workers=0", "test_dataloader.persistent_workers=False",
            f"test_dataloader.dataset.pipeline.1.scale={SCALE}",
            *[f"model.student.{k}={v}" for k, v in family_of(cfg).light.items()],
            *[f"train_dataloader.dataset.dataset.datasets.{i}.pipeline.2.scale={SCALE}" for i in range(2)]]


def test_the_headline_config_run_as_the_issue_ran_it_trains_and_detects(inputs, tmp_path):
    """configs/faster_rcnn_nst.py as shipped, one epoch with a teacher that failed to train: loss_cls falls (the
    settings shipped before took it from 3.6 to 11.9 in five iterations) and the test keeps detections at the stock
    score threshold (before: none, "results of the whole dataset is empty")."""
    config = ROOT / "configs" / "faster_rcnn_nst.py"
    options = headline_options(inputs, config)
    work = tmp_path / "headline"
    result = run_tool("train_det.py", [str(config), "--work-dir", str(work), "--no-data-check",
                                       "--cfg-options", *options])
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    scalars = [json.loads(line) for line in next(work.glob("*/vis_data/scalars.json")).read_text().splitlines()]
    loss_cls = [record["loss_cls"] for record in scalars if "loss_cls" in record]
    assert len(loss_cls) == 24 and max(loss_cls[-5:]) < loss_cls[0], loss_cls
    result = run_tool("test_det.py", [str(config), str(work), "--work-dir", str(tmp_path / "test"), "--no-data-check",
                                      "--out", str(tmp_path / "predictions.pkl"), "--cfg-options", *options])
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    predictions = pickle.loads((tmp_path / "predictions.pkl").read_bytes())
    assert sum(len(p["pred_instances"]["scores"]) for p in predictions) > 0


def test_the_guard_stops_the_settings_shipped_before_the_sweep(inputs, tmp_path):
    config = ROOT / "configs" / "faster_rcnn_nst.py"
    options = [*headline_options(inputs, config), "model.distill.loss.loss_weight=50.0",
               "model.distill.warmup_iters=0", "param_scheduler=[]"]
    result = run_tool("train_det.py", [str(config), "--work-dir", str(tmp_path / "guard"), "--no-data-check",
                                       "--cfg-options", *options])
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, (result.stdout + result.stderr)[-6000:]
    assert lines[-1].startswith("error: loss_nst_p") and "(weight 50)" in lines[-1], lines[-1]
    assert "Lower model.distill.loss.loss_weight (now 50)" in lines[-1]
    assert not list((tmp_path / "guard").glob("iter_*.pth"))
