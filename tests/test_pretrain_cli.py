"""ImageNet stage end to end through tools/pretrain_backbone.py on tiny generated data."""
from __future__ import annotations

import json
import re
import sys

import pytest
import torch
from tooling import BASELINE_CONFIG, NST_CONFIG, PRETRAIN, run_tool, tiny_options, write_malicious_checkpoint

from nst_det.data import make_classification_dataset

pytestmark = pytest.mark.slow


def test_nst_distillation_runs_and_exports_a_backbone_mmdet_loads(tmp_path, tiny_data, tiny_teacher_file):
    from mmdet.models.backbones import ResNet

    work = tmp_path / "work"
    result = run_tool(PRETRAIN, [NST_CONFIG, "--work-dir", str(work), "--cfg-options", *tiny_options(tiny_data),
                       f"teacher_checkpoint={tiny_teacher_file}", "model.teacher.arch=resnet34",
                       "model.distill.kd_loss.type=KDLoss"])
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    # every term is logged separately, and the teacher's accuracy once
    assert re.search(r"loss_cls: [\d.]+\s+loss_nst_layer4_1_relu_in: [\d.]+\s+loss_kd: [\d.]+", log), log[-2000:]
    assert "teacher accuracy on val: teacher/top1" in log

    backbone = work / "backbone_resnet18.pth"
    info = json.loads(backbone.with_suffix(".json").read_text())
    assert info["arch"] == "resnet18" and info["epochs"] == 2 and info["iters"] == 10
    distill = info["distill"]  # the distillation core's record, as built
    assert [(t["student"], t["teacher"]) for t in distill["taps"]] == [("layer4.1.relu:input", "layer4.2.relu:input")]
    assert distill["losses"] == [dict(kind="nst", type="NSTLoss", loss_weight=50.0, kernel="poly", degree=2,
                                      constant=0.0)]
    assert (distill["kd"]["temperature"], distill["kd"]["loss_weight"]) == (4.0, 1.0)
    assert json.loads((work / "distill.json").read_text())["distill"] == distill  # written when training started
    assert info["teacher"] == {"arch": "resnet34", "checkpoint": str(tiny_teacher_file)}
    assert set(info["val"]) == {"accuracy/top1", "accuracy/top5"}

    exported = torch.load(backbone, weights_only=True)
    model = ResNet(depth=18, init_cfg=dict(type="Pretrained", checkpoint=str(backbone)))
    model.init_weights()
    assert set(model.state_dict()) == set(exported)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in exported.items())

    # the training checkpoint is plain data, and tools/export_backbone.py reproduces the export
    checkpoint = torch.load(work / "epoch_2.pth", weights_only=True)
    assert not any(k.startswith("teacher") for k in checkpoint["state_dict"])
    again = tmp_path / "again.pth"
    result = run_tool("export_backbone.py", [str(work / "epoch_2.pth"), str(again)])
    assert result.returncode == 0, result.stderr[-2000:]
    reexported = torch.load(again, weights_only=True)
    assert set(reexported) == set(exported) and all(torch.equal(reexported[k], v) for k, v in exported.items())


def test_resume_continues_at_the_right_iteration(tmp_path, tiny_data):
    work = tmp_path / "work"
    first = run_tool(PRETRAIN, [BASELINE_CONFIG, "--work-dir", str(work),
                                "--cfg-options", *tiny_options(tiny_data, epochs=1)])
    assert first.returncode == 0, first.stderr[-2000:]
    assert (work / "last_checkpoint").read_text().strip().endswith("epoch_1.pth")

    second = run_tool(PRETRAIN, [BASELINE_CONFIG, "--work-dir", str(work), "--resume",
                       "--cfg-options", *tiny_options(tiny_data, epochs=2)])
    assert second.returncode == 0, second.stderr[-2000:]
    log = second.stdout + second.stderr
    assert "resumed epoch: 1, iter: 5" in log
    assert "Epoch(train) [1]" not in log and "Epoch(train) [2][5/5]" in log
    checkpoint = torch.load(work / "epoch_2.pth", weights_only=True)
    assert checkpoint["meta"]["epoch"] == 2 and checkpoint["meta"]["iter"] == 10
    # the schedulers continued from where they were (per-iteration warm-up counted 10 steps)
    warmup = checkpoint["param_schedulers"][0]
    assert warmup["last_step"] == 10 or warmup.get("_step_count") == 11


def test_two_processes_under_torchrun(tmp_path, tiny_data):
    work = tmp_path / "work"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29531"]
    result = run_tool(PRETRAIN, [BASELINE_CONFIG, "--launcher", "pytorch", "--work-dir", str(work),
                       "--cfg-options", *tiny_options(tiny_data, epochs=1)], launcher=launcher)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    log = result.stdout + result.stderr
    assert "Distributed launcher: pytorch" in log and "Distributed training: True" in log
    assert "backend" not in log or "gloo" in log
    # 20 images over 2 ranks x batch 4: 3 iterations per epoch on each rank
    assert "Epoch(train) [1][3/3]" in log
    assert sorted(p.name for p in work.glob("*.pth")) == ["backbone_resnet18.pth", "classifier_resnet18.pth",
                                                         "epoch_1.pth"]
    torch.load(work / "epoch_1.pth", weights_only=True)


@pytest.mark.parametrize("problem, expected", [
    ("missing_data", r"error: dataset folder .*/nowhere/train does not exist \(expected .*\)"),
    ("empty_data", r"error: dataset folder .*/empty/train has no class folders \(expected .*\)"),
    ("no_images", r"error: dataset folder .*/no_images/train has class folders but no images \(extensions .*\)"),
    ("corrupt_image", r"error: cannot decode image .*/train/circle/circle_00001\.JPEG: .+"),
    ("not_an_image", r"error: cannot decode image .*/train/circle/circle_00001\.JPEG: .+"),
    ("missing_teacher", r"error: teacher checkpoint .*/no_teacher\.pth does not exist"),
    ("missing_config", r"error: config file .*/nope\.py does not exist"),
])
def test_bad_input_gives_one_clear_line(tmp_path, tiny_data, problem, expected):
    data_root = tiny_data
    config, extra = BASELINE_CONFIG, []
    if problem == "missing_data":
        data_root = tmp_path / "nowhere"
    elif problem == "empty_data":
        data_root = tmp_path / "empty"
        (data_root / "train").mkdir(parents=True)
    elif problem == "no_images":
        data_root = tmp_path / "no_images"
        for split in ("train", "val"):
            (data_root / split / "circle").mkdir(parents=True)
            (data_root / split / "circle" / "notes.txt").write_text("not an image file name")
    elif problem in ("corrupt_image", "not_an_image"):
        data_root = tmp_path / "imagenet"
        make_classification_dataset(data_root, train_per_class=4, val_per_class=2, image_size=40, seed=3)
        image = data_root / "train" / "circle" / "circle_00001.JPEG"
        if problem == "corrupt_image":
            image.write_bytes(image.read_bytes()[:200])  # truncated JPEG
        else:
            image.write_text("<html>a web page saved under an image name</html>")
    elif problem == "missing_teacher":
        config, extra = NST_CONFIG, [f"teacher_checkpoint={tmp_path}/no_teacher.pth"]
    elif problem == "missing_config":
        config = str(tmp_path / "nope.py")
    result = run_tool(PRETRAIN, [config, "--work-dir", str(tmp_path / "work"), "--cfg-options",
                       *tiny_options(data_root), *extra])
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(expected, last_line), result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_non_finite_loss_stops_naming_iteration_and_term(tmp_path, tiny_data):
    work = tmp_path / "work"
    first = run_tool(PRETRAIN, [BASELINE_CONFIG, "--work-dir", str(work),
                                "--cfg-options", *tiny_options(tiny_data, epochs=1)])
    assert first.returncode == 0, first.stderr[-2000:]
    good = (work / "epoch_1.pth").read_bytes()
    # continue from it with an absurd learning rate: the loss overflows within a few iterations
    result = run_tool(PRETRAIN, [BASELINE_CONFIG, "--work-dir", str(work),
                                 "--cfg-options", *tiny_options(tiny_data, epochs=3),
                       f"load_from={work / 'epoch_1.pth'}", "optim_wrapper.optimizer.lr=1e30", "param_scheduler=[]"])
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"error: loss\w* is (nan|inf|-inf) at iteration \d+ \(epoch 1\); training stopped\. "
                        r"Last good checkpoint: .*epoch_1\.pth", last_line), result.stderr[-2000:]
    assert sorted(p.name for p in work.glob("epoch_*.pth")) == ["epoch_1.pth"]
    assert (work / "epoch_1.pth").read_bytes() == good


def test_malicious_resume_checkpoint_is_refused_before_anything_runs(tmp_path, tiny_data):
    target = tmp_path / "pwned"
    evil = write_malicious_checkpoint(tmp_path / "evil.pth", target, key="meta")
    result = run_tool(PRETRAIN, [BASELINE_CONFIG, "--work-dir", str(tmp_path / "work"), "--resume", str(evil),
                       "--cfg-options", *tiny_options(tiny_data)])
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"error: resume checkpoint .*evil\.pth refers to io\.open, which no checkpoint needs and "
                        r"an attack would use: refusing it \(nothing in it was run\): a name only code execution, file "
                        r"access or another loader needs\. Use weights from a source you trust", last), \
        result.stderr[-2000:]
    assert not target.exists()

