"""The FPN-distillation sweep's pieces (no training): generated data in the real layouts, the short runs' configs,
the choice over verdicts, the table. The sweep itself runs in tools/sweep_distill.py (BENCHMARKS.md)."""
from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest
from mmengine.config import Config

from nst_det.data.real_layout import COCO_NAMES, VOC_NAMES, make_real_layout_dataset
from nst_det.det.stability import Comparison
from nst_det.engine.short_runs import ShortRun, set_resize_scale, short_run_config
from nst_det.utils.errors import InvalidInputError

from _lib.sweep import FAMILIES, Cell, Verdict
from _lib.sweep_plan import SETTINGS, Choice, canonical, cell, choose, setting_of
from _lib.sweep_table import markdown, row
from det_fixtures import ROOT


def test_real_layout_data_is_what_the_shipped_configs_read(tmp_path):
    paths = make_real_layout_dataset(tmp_path, num_trainval=5, num_test=2, image_size=(96, 128))
    voc = paths["voc"]
    assert (voc / "VOC2007/ImageSets/Main/trainval.txt").read_text().split() == [
        "trainval_00000", "trainval_00002", "trainval_00004"]
    assert (voc / "VOC2012/ImageSets/Main/trainval.txt").read_text().split() == ["trainval_00001", "trainval_00003"]
    assert (voc / "VOC2012/JPEGImages/trainval_00001.jpg").is_file()
    assert not (voc / "VOC2007/JPEGImages/trainval_00001.jpg").exists()
    names = {n.text for xml in voc.glob("VOC20*/Annotations/*.xml") for n in ET.parse(xml).getroot().iter("name")}
    assert names and names <= set(VOC_NAMES)
    coco = json.loads((paths["coco"] / "annotations/instances_train2017.json").read_text())
    assert {c["name"] for c in coco["categories"]} == set(COCO_NAMES) and len(coco["images"]) == 5
    assert (paths["coco"] / "val2017" / "test_00001.jpg").is_file()
    # mmdet's stock datasets with their own 20/80 class names read every object
    from mmdet.datasets import CocoDataset, VOCDataset

    voc_set = VOCDataset(data_root=str(voc), ann_file="VOC2012/ImageSets/Main/trainval.txt",
                         data_prefix=dict(sub_data_root="VOC2012/"), pipeline=[], test_mode=True)
    assert len(voc_set) == 2 and all(len(voc_set.get_data_info(i)["instances"]) for i in range(2))
    coco_set = CocoDataset(data_root=str(paths["coco"]), ann_file="annotations/instances_val2017.json",
                           data_prefix=dict(img="val2017/"), pipeline=[], test_mode=True)
    assert len(coco_set) == 2 and all(len(coco_set.get_data_info(i)["instances"]) for i in range(2))
    with pytest.raises(InvalidInputError, match="exists"):
        make_real_layout_dataset(tmp_path, num_trainval=5, num_test=2, image_size=(96, 128))
    with pytest.raises(InvalidInputError, match="at least 2"):
        make_real_layout_dataset(tmp_path / "other", num_trainval=1, num_test=1, image_size=(96, 128))


def test_short_run_config_changes_only_what_it_names(tmp_path):
    run = ShortRun(config=str(ROOT / "configs/faster_rcnn_nst.py"), work_dir=str(tmp_path), iters=12, seed=3,
                   variables=dict(data_root="/d/VOCdevkit/", teacher_checkpoint="/t.pth"),
                   distill=dict(loss_weight=5.0, warmup_iters=6), lr_warmup_iters=6, clip_grad=35.0,
                   drop_hooks=("DistillDivergenceHook",))
    cfg = short_run_config(run)
    shipped = Config.fromfile(str(ROOT / "configs/faster_rcnn_nst.py"))
    assert cfg.model.distill.loss == dict(shipped.model.distill.loss, loss_weight=5.0)
    assert cfg.model.distill.warmup_iters == 6 and cfg.model.teacher.checkpoint == "/t.pth"
    assert cfg.model.student.backbone == shipped.model.student.backbone and cfg.randomness == dict(seed=3)
    assert cfg.param_scheduler == [dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=6)]
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=35.0, norm_type=2)
    assert cfg.optim_wrapper.optimizer == shipped.optim_wrapper.optimizer  # the base lr as shipped
    assert cfg.train_cfg == dict(type="IterBasedTrainLoop", max_iters=12, val_interval=13)
    text = repr(cfg.train_dataloader) + repr(cfg.test_dataloader)
    assert "'scale': (160, 120)" in text and "1000, 600" not in text and "'data_root': '/d/VOCdevkit/'" in text
    assert "DistillDivergenceHook" not in repr(cfg.custom_hooks) and "NonFiniteLossHook" in repr(cfg.custom_hooks)
    fcos = ROOT / "configs/distill/mmdet/nst/nst-fpn_fcos-r50_fcos-r18_1x_voc0712.py"
    own = short_run_config(ShortRun(config=str(fcos), work_dir=str(tmp_path)))
    assert own.optim_wrapper.clip_grad == dict(max_norm=35, norm_type=2)  # None: the config's own clipping
    assert [s.type for s in own.param_scheduler] == ["ConstantLR"]  # and LR warm-up (no epoch steps)
    assert set_resize_scale([dict(type="RandomChoiceResize", scales=[(1, 2)], keep_ratio=True)], (8, 6)) == [
        dict(type="Resize", scale=(8, 6), keep_ratio=True)]


def verdict(family: str, weight: float, setting: str, stable: bool) -> Verdict:
    run = cell("weights", family, "voc", "random", "nst", weight, next(s for s in SETTINGS if s.name == setting), 20)
    peak = 1.2 if stable else 3.0
    return Verdict(run, [Comparison((1.0, peak), 1.0, peak)], [5], [4], [None], [None if stable else 7], 12.0, [None])


def test_choose_the_largest_weight_stable_everywhere_with_the_fewest_stabilisers():
    families = ["faster_rcnn", "fcos"]
    verdicts = [verdict("faster_rcnn", 50, "none", False), verdict("faster_rcnn", 25, "none", False),
                verdict("faster_rcnn", 10, "none", True), verdict("fcos", 50, "none", False),
                verdict("fcos", 25, "none", True),
                verdict("faster_rcnn", 50, "warm-up", False), verdict("faster_rcnn", 50, "warm-up + clip", True),
                verdict("fcos", 50, "warm-up", True)]
    # FCOS clips already: its "warm-up" run is its "warm-up + clip"
    assert canonical(SETTINGS[3], "fcos") == SETTINGS[1] and canonical(SETTINGS[3], "faster_rcnn") == SETTINGS[3]
    assert canonical(SETTINGS[4], "fcos") == SETTINGS[1]  # and has an LR warm-up of its own
    assert setting_of(verdicts[-1].cell).name == "warm-up"
    assert choose(verdicts, "nst", families) == Choice("nst", 50.0, SETTINGS[3])
    # without the stabilised runs: the largest weight every family trains with as it is
    assert choose(verdicts[:5], "nst", families) == Choice("nst", 10.0, SETTINGS[0])
    # a setting counts where fewer of its stabilisers were enough; the MSE control gets the NST's stabilisers
    assert choose(verdicts, "nst", families, [SETTINGS[4]]) == Choice("nst", 50.0, SETTINGS[4])
    assert choose(verdicts, "nst", families, [SETTINGS[2]]) == Choice("nst", 10.0, SETTINGS[2])
    assert choose([verdict("fcos", 1, "none", False)], "nst", ["fcos"]).weight is None


def test_cells_and_their_baselines():
    run = cell("stabilisers", "faster_rcnn", "coco", "trained", "mse", 2.0, SETTINGS[4], 20)
    assert (run.warmup, run.clip, run.lr_warmup, run.backbone) == (10, 35.0, 10, "trained")
    own = cell("confirm", "fcos", "coco", "random", "nst", 2.0, SETTINGS[4], 20, lr_warmup=True)
    assert (own.warmup, own.clip, own.lr_warmup) == (10, None, 0)  # FCOS's own clipping and LR warm-up
    base = run.baseline()
    assert (base.weight, base.warmup, base.loss, base.teacher, base.clip, base.lr_warmup, base.backbone) == (
        0.0, 0, "nst", "random", 35.0, 10, "trained")
    assert Cell("a", "fcos", "voc", "random", "nst", 5.0).key() == Cell("b", "fcos", "voc", "random", "nst", 5.0).key()
    # runs recorded before the lr could be scaled keep their keys; a scaled run and its baseline have their own
    assert json.loads(Cell("a", "fcos", "voc", "random", "nst", 5.0).key()) == dict(
        family="fcos", dataset="voc", teacher="random", loss="nst", weight=5.0, warmup=0, clip=None, lr_warmup=0,
        backbone="random")
    scaled = cell("confirm", "faster_rcnn", "coco", "random", "nst", 10.0, SETTINGS[1], 20, scale_lr=True)
    assert json.loads(scaled.key())["scale_lr"] is True and scaled.baseline().scale_lr
    assert scaled.settings == "warm-up 10, lr scaled to the batch"
    assert set(FAMILIES) == {"faster_rcnn", "retinanet", "fcos", "cascade_rcnn"}


def test_the_table_says_what_was_measured():
    rows = [row(verdict("faster_rcnn", 50, "warm-up + clip", True)), row(verdict("fcos", 50, "none", False))]
    rows[1]["final_ratio_mean"] = math.inf
    text = markdown(rows)
    lines = text.splitlines()
    assert len(lines) == 4 and all(line.count("|") == 14 for line in lines)
    assert ("| faster_rcnn | voc | random | nst | 50 | warm-up 10, clip 35 | 1 | 1.00 (1.00) | 1.20 | 5 (4) | 0 (0) "
            "| — | yes |") in text
    assert "| ∞ (1.00) | 3.00 |" in text and "| 7 | **no** |" in text
    failed = verdict("faster_rcnn", 10, "none", True)
    failed.baseline_errors = ["loss is nan at iteration 16"]
    assert not failed.stable and markdown([row(failed)]).endswith("| 0 (1) | — | none: the baseline went NaN |")


class FakeSweep:
    """Verdicts by cell: unstable where ``bad`` says so, no verdict (baseline NaN) where ``nan`` does."""

    def __init__(self, bad, nan=lambda run: False) -> None:
        self.inputs = type("Inputs", (), {"iters": 20})()
        self.bad, self.nan, self.ran = bad, nan, []

    def verdict(self, run: Cell) -> Verdict:
        self.ran.append(run)
        stable = not self.bad(run)
        out = verdict(run.family, run.weight, "none", stable)
        out.cell, out.baseline_errors = run, ["nan"] if self.nan(run) else [None]
        return out


def test_confirm_takes_the_first_candidate_stable_everywhere_it_can_be_judged():
    from _lib.sweep_plan import candidates, stage_confirm

    verdicts = [verdict(f, w, s, True) for f in ("faster_rcnn", "fcos") for w, s in ((25, "warm-up"), (10, "none"))]
    found = candidates(verdicts, "nst", ["faster_rcnn", "fcos"])
    assert [(c.weight, c.setting.name) for c in found][:3] == [(25, "warm-up"), (25, "warm-up + clip"),
                                                               (25, "warm-up + clip + LR warm-up")]
    # 25 fails on the demo data for Faster R-CNN; 10 passes; COCO's baselines went NaN (no verdict there)
    sweep = FakeSweep(bad=lambda c: c.dataset == "demo" and c.weight == 25 and c.family == "faster_rcnn",
                      nan=lambda c: c.dataset == "coco")
    choice, tried = stage_confirm(sweep, found, ["faster_rcnn", "fcos"], trained=["faster_rcnn"])
    assert (choice.weight, choice.setting.name) == (10, "none")
    assert [v.cell.dataset for v in tried if v.cell.weight == 10] == ["demo", "demo", "demo", "voc", "voc", "coco",
                                                                      "coco"]
    assert {(c.dataset, c.teacher, c.backbone) for c in sweep.ran if c.family == "faster_rcnn"} >= {
        ("demo", "trained", "trained"), ("demo", "random", "random"), ("coco", "random", "random")}
    assert all(c.lr_warmup == 10 for c in sweep.ran if c.dataset != "voc" and c.family != "fcos")
    assert all(c.scale_lr == (c.dataset == "coco") for c in sweep.ran)  # COCO's lr for 16 images, at batch 2
    # the datasets asked for, in the order asked
    coco_first = FakeSweep(bad=lambda c: False)
    stage_confirm(coco_first, found[:1], ["fcos"], datasets=["coco", "demo"])
    assert [c.dataset for c in coco_first.ran] == ["coco", "demo"]
    assert stage_confirm(FakeSweep(bad=lambda c: True), found, ["fcos"])[0] is None
