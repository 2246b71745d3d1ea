"""Two "nodes" on one machine: ``tools/dist_train.sh`` twice, ``NNODES=2``, ``NODE_RANK=0/1``, a rendezvous on
127.0.0.1, two CPU processes each (world size 4, gloo), for both training tools with NST; then the same runs
resumed from their last checkpoint, and the detector tested with ``tools/dist_test.sh`` and ``slurm_test.sh``.

Every rank prints a digest of its trained parameters: all four must agree. Work done once on rank 0 (the
checkpoint and dataset checks, the ImageNet folder scan) prints "<what>: on rank 0 of 4" once per run.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tooling import NST_CONFIG, ROOT, fake_slurm, free_port, tiny_options, tool_env

from det_fixtures import FPN_DISTILL, tiny_run_options

pytestmark = pytest.mark.slow

DET_NST_CONFIG = str(FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py")
ONCE = "checkpoint and dataset checks: on rank 0 of 4, the other ranks wait"


def two_nodes(config: str, args: list[str], logs: Path) -> str:
    """``tools/dist_train.sh CONFIG 2 ARGS`` as node 0 and node 1 of a 2-node job; their output, joined."""
    env = {**tool_env(), "NNODES": "2", "PORT": str(free_port()), "MASTER_ADDR": "127.0.0.1",
           "PYTHON": sys.executable}
    logs.mkdir(parents=True, exist_ok=True)
    nodes = []
    for rank in (0, 1):  # output to files: a full pipe would block one node while the other waits for it
        out = open(logs / f"node{rank}.log", "w")
        nodes.append((subprocess.Popen(["bash", "tools/dist_train.sh", config, "2", *args], cwd=ROOT,
                                       env={**env, "NODE_RANK": str(rank)}, stdout=out, stderr=subprocess.STDOUT),
                      out))
    codes = [process.wait(timeout=600) for process, _ in nodes]
    for _, out in nodes:
        out.close()
    log = "\n".join((logs / f"node{rank}.log").read_text() for rank in (0, 1))
    assert codes == [0, 0], log[-5000:]
    return log


def same_parameters_on_every_rank(log: str) -> str:
    digests = dict(re.findall(r"rank (\d): training finished, parameters ([0-9a-f]{16})", log))
    assert sorted(digests) == ["0", "1", "2", "3"], log[-3000:]
    assert len(set(digests.values())) == 1, digests
    return digests["0"]


def test_imagenet_stage_on_two_nodes_then_resumed(tmp_path, tiny_data, tiny_teacher_file):
    work = tmp_path / "work"
    # 20 images / 4 ranks / batch 5: one iteration per epoch; no validation (testing is dist_test's)
    options = [*tiny_options(tiny_data, epochs=1), "train_dataloader.batch_size=5", "train_cfg.val_interval=9",
               f"teacher_checkpoint={tiny_teacher_file}", "model.teacher.arch=resnet34"]
    first = two_nodes(NST_CONFIG, ["--work-dir", str(work), "--cfg-options", *options], tmp_path / "first")
    assert "Distributed training: True" in first and "Epoch(train) [1][1/1]" in first
    assert re.search(r"loss_cls: [\d.]+\s+loss_nst_layer4_1_relu_in: [\d.]+", first)
    digest = same_parameters_on_every_rank(first)
    assert first.count(ONCE) == 1
    assert len(re.findall(r"scanning the image folder .*/train: on rank 0 of 4", first)) == 1
    assert len(re.findall(r"scanning the image folder .*/val: on rank 0 of 4", first)) == 1
    # 4 processes x 5 is not the demo's base batch 32, and --auto-scale-lr is off: one warning line
    warnings = [line for line in first.splitlines() if "the total batch is 20 (4 processes" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0] and "base_batch_size 32" in warnings[0]

    options[1] = "train_cfg.max_epochs=2"
    resumed = two_nodes(NST_CONFIG, ["--work-dir", str(work), "--resume", "--cfg-options", *options],
                        tmp_path / "resumed")
    assert "resumed epoch: 1, iter: 1" in resumed
    assert "Epoch(train) [1]" not in resumed and "Epoch(train) [2][1/1]" in resumed
    assert same_parameters_on_every_rank(resumed) != digest and resumed.count(ONCE) == 1
    assert torch.load(work / "epoch_2.pth", weights_only=True)["meta"]["epoch"] == 2


def test_detection_with_nst_on_fpn_on_two_nodes_resumed_then_tested(tmp_path, det_data, weight_files):
    work = tmp_path / "work"
    # 4 images / 4 ranks / batch 1: one iteration per epoch, the demo's base batch 4: no warning
    options = [*tiny_run_options(det_data / "VOCdevkit", weight_files), "train_dataloader.batch_size=1",
               "train_cfg.val_interval=9"]
    first = two_nodes(DET_NST_CONFIG, ["--work-dir", str(work), "--cfg-options", *options], tmp_path / "first")
    assert re.search(r"loss_nst_p2: [\d.]+\s+loss_nst_p3: [\d.]+", first), first[-3000:]
    digest = same_parameters_on_every_rank(first)
    assert first.count(ONCE) == 1 and len(re.findall(r"dataset ok: ", first)) >= 1
    assert len(re.findall(r"checking .*trainval\.txt: 4 VOC annotations and images", first)) == 1
    assert "the total batch is" not in first

    options[options.index("train_cfg.max_epochs=1")] = "train_cfg.max_epochs=2"
    resumed = two_nodes(DET_NST_CONFIG, ["--work-dir", str(work), "--resume", "--cfg-options", *options],
                        tmp_path / "resumed")
    assert "resumed epoch: 1, iter: 1" in resumed and "Epoch(train) [2][1/1]" in resumed
    assert same_parameters_on_every_rank(resumed) != digest and resumed.count(ONCE) == 1

    # the student checkpoint, tested on 2 processes (dist_test.sh) and on 1 Slurm task (slurm_test.sh)
    test_options = ["--cfg-options", f"data_root={det_data}/VOCdevkit/", "test_dataloader.num_workers=0",
                    "test_dataloader.persistent_workers=False"]
    env = {**tool_env(), "PYTHON": sys.executable, "PORT": str(free_port())}
    tested = subprocess.run(["bash", "tools/dist_test.sh", DET_NST_CONFIG, str(work / "epoch_2.pth"), "2",
                             "--work-dir", str(tmp_path / "test"), *test_options],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert tested.returncode == 0, tested.stderr[-3000:]
    metrics = json.loads((tmp_path / "test" / "test_metrics.json").read_text())
    assert "pascal_voc/mAP" in metrics and tested.stdout.count(ONCE.replace("4", "2")) == 1

    env.update(fake_slurm(tmp_path, tmp_path / "srun.json"), GPUS="1", GPUS_PER_NODE="1")
    slurm = subprocess.run(["bash", "tools/slurm_test.sh", "part", "job", DET_NST_CONFIG, str(work / "epoch_2.pth"),
                            "--work-dir", str(tmp_path / "slurm"), *test_options],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert slurm.returncode == 0, slurm.stderr[-3000:]
    assert json.loads((tmp_path / "slurm" / "test_metrics.json").read_text()) == metrics
    command = json.loads((tmp_path / "srun.json").read_text())["command"]
    assert (ROOT / command[2]).resolve() == ROOT / "tools" / "test_det.py" and command[3] == DET_NST_CONFIG
