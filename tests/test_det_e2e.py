"""tools/train_det.py and tools/test_det.py end to end on tiny VOC and COCO demo data (2 iterations),
resume, student-only checkpoints tested with the plain config, and 2-process torchrun (gloo, CPU)."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import torch
from tooling import run_tool, write_malicious_checkpoint

from det_fixtures import DEMO, FPN_DISTILL, build_model, feature_checkpoint, plain_pycocotools, tiny_run_options

pytestmark = pytest.mark.slow

NST_CONFIG = str(FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py")
PLAIN_CONFIG = str(DEMO / "faster-rcnn_r18_fpn_nst-backbone_8e_demo.py")
NST_COCO_CONFIG = str(FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo-coco.py")
MSE_CONFIG = str(FPN_DISTILL / "mse" / "mse-fpn_frcnn-r34_frcnn-r18_8e_demo.py")
# a model trained for 2 iterations scores below the default threshold: keep its 100 best boxes
KEEP_ALL_DETECTIONS = ["model.test_cfg.rcnn.score_thr=0.0"]


def ok(result) -> str:
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-5000:])
    return result.stdout + result.stderr


def assert_same_as_plain_pycocotools(metrics: dict, gt_json: Path, det_json: Path) -> None:
    stats = plain_pycocotools(gt_json, det_json)
    for index, name in enumerate(["bbox_mAP", "bbox_mAP_50", "bbox_mAP_75"]):
        assert metrics[f"coco/{name}"] == pytest.approx(round(stats[index], 3), abs=1e-9)


def test_voc_nst_training_resume_and_testing_with_the_plain_config(det_data, weight_files, tmp_path):
    work = tmp_path / "work"
    options = tiny_run_options(det_data / "VOCdevkit", weight_files)
    log = ok(run_tool("train_det.py", [NST_CONFIG, "--work-dir", str(work), "--cfg-options", *options]))
    assert "loss_nst_p2" in log and "loss_nst_p5" in log and "loss_nst_p6" not in log and "Epoch(train) [1][2/2]" in log
    assert "rank 0: training finished" in log

    checkpoint = torch.load(work / "epoch_1.pth", weights_only=True)  # plain data, no pickled objects
    plain = build_model(PLAIN_CONFIG)
    assert list(checkpoint["state_dict"]) == list(plain.state_dict())
    plain.load_state_dict(checkpoint["state_dict"], strict=True)

    log = ok(run_tool("train_det.py", [NST_CONFIG, "--work-dir", str(work), "--resume", "--cfg-options",
                                       *options, "train_cfg.max_epochs=2"]))
    assert "resumed epoch: 1, iter: 2" in log and "Epoch(train) [2][2/2]" in log
    assert (work / "epoch_2.pth").is_file()

    out = tmp_path / "out"  # the checkpoint is named by its work dir: last_checkpoint -> epoch_2.pth
    log = ok(run_tool("test_det.py", [
        PLAIN_CONFIG, str(work), "--work-dir", str(tmp_path / "test"), "--coco-ap",
        "--json-prefix", str(out / "dets"), "--out", str(out / "dets.pkl"), "--show-dir", str(out / "show"),
        "--cfg-options", f"data_root={det_data}/VOCdevkit/", *KEEP_ALL_DETECTIONS, "test_dataloader.num_workers=0",
        "test_dataloader.persistent_workers=False"]))
    assert "| class " in log and "| recall |" in log  # VOC per-class table, with our class names
    assert "| circle " in log and "aeroplane" not in log
    assert "| category | mAP" in log and "| mAP_75 |" in log  # COCO per-class table
    metrics = json.loads((tmp_path / "test" / "test_metrics.json").read_text())
    assert len(json.loads(Path(f"{out}/dets.bbox.json").read_text())) == 200
    assert {"pascal_voc/mAP", "coco/bbox_mAP", "coco/bbox_mAP_50", "coco/bbox_mAP_75", "coco/bbox_mAP_s",
            "coco/bbox_mAP_m", "coco/bbox_mAP_l"} <= set(metrics)
    assert (out / "dets.pkl").is_file() and len(list((out / "show").rglob("*.jpg"))) == 2
    assert_same_as_plain_pycocotools(metrics, Path(f"{out}/dets.gt.json"), Path(f"{out}/dets.bbox.json"))


def test_coco_nst_training_and_testing_the_distiller_config_as_its_student(det_data, weight_files, tmp_path):
    work = tmp_path / "work"
    options = tiny_run_options(det_data / "coco", weight_files)
    log = ok(run_tool("train_det.py", [NST_COCO_CONFIG, "--work-dir", str(work), "--cfg-options", *options]))
    assert "loss_nst_p4" in log and "coco/bbox_mAP" in log

    out = tmp_path / "out"
    log = ok(run_tool("test_det.py", [
        NST_COCO_CONFIG, str(work / "epoch_1.pth"), "--work-dir", str(tmp_path / "test"),
        "--json-prefix", str(out / "dets"), "--cfg-options", f"data_root={det_data}/coco/",
        "teacher_checkpoint=/nonexistent.pth", "model.student.test_cfg.rcnn.score_thr=0.0",
        "test_dataloader.num_workers=0",
        "test_dataloader.persistent_workers=False"]))
    assert "testing the student detector alone" in log
    metrics = json.loads((tmp_path / "test" / "test_metrics.json").read_text())
    assert_same_as_plain_pycocotools(metrics, det_data / "coco" / "annotations" / "instances_val.json",
                                     Path(f"{out}/dets.bbox.json"))


def test_channel_adapters_train_stay_out_of_the_student_checkpoint_and_come_back_on_resume(det_data, weight_files,
                                                                                        tmp_path):
    # a teacher whose FPN is 64 channels wide (the student's: 128): the MSE control builds 1x1 adapters
    narrow = tmp_path / "teacher_narrow.py"
    narrow.write_text(f"_base_ = '{DEMO / 'faster-rcnn_r34_fpn_ce-backbone_8e_demo.py'}'\n"
                      "model = dict(neck=dict(out_channels=64), rpn_head=dict(in_channels=64, feat_channels=64),\n"
                      "    roi_head=dict(bbox_roi_extractor=dict(out_channels=64), bbox_head=dict(in_channels=64)))\n")
    work = tmp_path / "work"
    options = [o for o in tiny_run_options(det_data / "VOCdevkit", weight_files) if not o.startswith("teacher_")]
    options += [f"teacher_config={narrow}",
                f"teacher_checkpoint={feature_checkpoint(narrow, tmp_path / 'teacher_narrow.pth')}"]
    log = ok(run_tool("train_det.py", [MSE_CONFIG, "--work-dir", str(work), "--cfg-options", *options]))
    assert "loss_mse_p2" in log and "loss_mse_p5" in log
    first = torch.load(work / "epoch_1.pth", weights_only=True)
    assert list(first["state_dict"]) == list(build_model(PLAIN_CONFIG).state_dict())  # the plain student
    adapters = [f"distill_core.adapters.p{i}.{p}" for i in range(2, 6) for p in ("weight", "bias")]
    assert sorted(first["distill_state_dict"]) == sorted(adapters)
    assert first["distill_state_dict"]["distill_core.adapters.p2.weight"].shape == (64, 128, 1, 1)

    log = ok(run_tool("train_det.py", [MSE_CONFIG, "--work-dir", str(work), "--resume", "--cfg-options",
                                       *options, "train_cfg.max_epochs=2"]))
    assert "resumed epoch: 1, iter: 2" in log and "Epoch(train) [2][2/2]" in log
    assert "missing keys" not in log and "unexpected key" not in log  # the adapters were loaded back
    second = torch.load(work / "epoch_2.pth", weights_only=True)
    assert not torch.equal(second["distill_state_dict"]["distill_core.adapters.p2.weight"],
                           first["distill_state_dict"]["distill_core.adapters.p2.weight"])  # trained on
    log = ok(run_tool("test_det.py", [PLAIN_CONFIG, str(work), "--work-dir", str(tmp_path / "test"),
                                      "--cfg-options", f"data_root={det_data}/VOCdevkit/",
                                      "test_dataloader.num_workers=0", "test_dataloader.persistent_workers=False"]))
    assert (tmp_path / "test" / "test_metrics.json").is_file()


def test_a_checkpoint_of_another_model_is_refused_by_test_det(det_data, weight_files, tmp_path):
    result = run_tool("test_det.py", [PLAIN_CONFIG, str(weight_files["teacher"]), "--work-dir", str(tmp_path),
                                      "--cfg-options", f"data_root={det_data}/VOCdevkit/"])
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: checkpoint ")
    assert "does not fit the FasterRCNN" in result.stderr and "unexpected keys: 'backbone.layer1.2" in result.stderr


def test_torchrun_two_processes_on_cpu(det_data, weight_files, tmp_path):
    work = tmp_path / "work"
    options = tiny_run_options(det_data / "VOCdevkit", weight_files) + ["train_dataloader.batch_size=1"]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    log = ok(run_tool("train_det.py", [NST_CONFIG, "--launcher", "pytorch", "--work-dir", str(work),
                                       "--cfg-options", *options], launcher=launcher))
    assert "rank 0: training finished" in log and "rank 1: training finished" in log
    assert "runs on CPU over gloo" in log and "Epoch(train) [1][2/2]" in log
    assert sorted(p.name for p in work.glob("*.pth")) == ["epoch_1.pth"]
    assert not list(work.glob(".*.tmp"))  # atomic writes left no temporary files
    assert list(torch.load(work / "epoch_1.pth", weights_only=True)["state_dict"]) == \
        list(build_model(PLAIN_CONFIG).state_dict())


@pytest.mark.parametrize("where", ["teacher_checkpoint", "backbone_checkpoint", "--resume"])
def test_a_checkpoint_carrying_code_is_refused_by_train_det_and_never_run(det_data, weight_files, tmp_path, where):
    target = tmp_path / "pwned"
    evil = write_malicious_checkpoint(tmp_path / "evil.pth", target)
    options = tiny_run_options(det_data / "VOCdevkit", weight_files)
    if where == "--resume":
        extra = ["--resume", str(evil)]
    else:
        extra, options = [], [o for o in options if not o.startswith(f"{where}=")] + [f"{where}={evil}"]
    result = run_tool("train_det.py", [NST_CONFIG, "--work-dir", str(tmp_path / "work"), *extra,
                                       "--cfg-options", *options])
    assert result.returncode == 1, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(rf"error: (teacher checkpoint|backbone file|resume checkpoint) {re.escape(str(evil))} refers "
                        r"to io\.open, which no checkpoint needs and an attack would use: refusing it \(nothing in it "
                        r"was run\): a name only code execution, file access or another loader needs\. Use weights "
                        r"from a source you trust", last), result.stderr[-3000:]
    assert not target.exists()
