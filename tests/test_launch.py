"""Joining a job: work done once on rank 0, the total-batch warning, a GPU torch cannot use, Slurm's scripts."""
from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from tooling import BASELINE_CONFIG, ROOT, executable, fake_slurm, free_port, tiny_options, tool_env

from nst_det.engine import launch
from nst_det.engine.preflight import preflight
from nst_det.utils.distributed import RankZeroError, share_from_rank0
from nst_det.utils.errors import NSTDetError

from det_fixtures import DEMO

DET_CONFIG = DEMO / "faster-rcnn_r18_fpn_ce-backbone_8e_demo.py"


# ----------------------------------------------------------------------------- the total batch
@pytest.mark.parametrize("config, base", [(BASELINE_CONFIG, 32), (DET_CONFIG, 4)])
def test_a_total_batch_the_lr_is_not_written_for_is_one_warning(config, base, det_data, tiny_data, tmp_path,
                                                                 monkeypatch):
    logged = []
    monkeypatch.setattr(launch, "print_log", lambda message, **kw: logged.append((message, kw.get("level"))))
    cfg = Config.fromfile(str(config))
    cfg.work_dir, cfg.launcher, cfg.data_root = str(tmp_path), "none", str(tiny_data)
    assert launch.total_batch_warning(cfg) is None  # 1 process x the config's batch = base
    cfg.train_dataloader.batch_size = base // 2
    warning = launch.total_batch_warning(cfg)
    assert warning and "\n" not in warning
    assert f"total batch is {base // 2} (1 processes x train_dataloader.batch_size {base // 2})" in warning
    assert f"auto_scale_lr.base_batch_size {base}" in warning and "--auto-scale-lr" in warning
    preflight(cfg, training=True, data_check=False)
    preflight(cfg, training=False, data_check=False)  # testing: no warning
    assert logged == [(warning, logging.WARNING)]
    cfg.auto_scale_lr.enable = True  # --auto-scale-lr
    assert launch.total_batch_warning(cfg) is None


def test_work_for_every_rank_runs_once_without_a_process_group():
    calls = []
    assert share_from_rank0(lambda: calls.append(1) or "result", what="checks") == "result" and calls == [1]


def _missing_folder() -> None:
    raise NSTDetError("dataset folder /x does not exist")


def _two_ranks(rank: int, port: int, folder: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    ran = []
    value = share_from_rank0(lambda: ran.append(rank) or {"rank": rank, "data": list(range(5))})
    try:
        share_from_rank0(_missing_folder)
    except NSTDetError as exc:
        failure = [type(exc).__name__, str(exc)]
    Path(folder, f"rank{rank}.json").write_text(json.dumps(dict(value=value, ran=ran, failure=failure)))
    dist.destroy_process_group()


@pytest.mark.slow
def test_rank0_computes_every_rank_receives_and_a_failure_stops_all(tmp_path):
    torch.multiprocessing.start_processes(_two_ranks, args=(free_port(), str(tmp_path)), nprocs=2,
                                          start_method="fork")
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["value"] for r in results] == [{"rank": 0, "data": [0, 1, 2, 3, 4]}] * 2
    assert [r["ran"] for r in results] == [[0], []]  # only rank 0 ran it
    assert results[0]["failure"] == ["NSTDetError", "dataset folder /x does not exist"]
    assert results[1]["failure"] == [RankZeroError.__name__, "dataset folder /x does not exist"]


# ----------------------------------------------------------------------------- a GPU torch cannot use
FAKE_NVIDIA_SMI = """#!/usr/bin/env bash
if [ "$1" = "-L" ]; then
    echo "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0c6f0b9e-0000-0000-0000-000000000000)"
    echo "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-0c6f0b9e-0000-0000-0000-000000000001)"
    exit 0
fi
cat <<'EOF'
+-----------------------------------------------------------------------------+
| NVIDIA-SMI 535.104.05             Driver Version: 535.104.05   CUDA Version: 12.2     |
|-------------------------------+----------------------+----------------------+
EOF
"""


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine where torch cannot use a GPU")
def test_a_gpu_torch_cannot_use_stops_the_tools_in_one_line_unless_the_cpu_is_chosen(tmp_path):
    executable(tmp_path / "nvidia-smi", FAKE_NVIDIA_SMI)
    env = {**tool_env(), "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    torch_cuda = (f"is built for CUDA {torch.version.cuda} and the driver (535.104.05) supports CUDA 12.2"
                  if torch.version.cuda else "is a CPU-only build")

    def run(tool: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
        command = [sys.executable, str(ROOT / "tools" / tool), *args]
        return subprocess.run(command, cwd=ROOT, env={**env, **extra_env}, capture_output=True, text=True,
                              timeout=300)

    nowhere = ["--cfg-options", f"data_root={tmp_path}/nowhere/"]
    for tool, config in (("train_det.py", DET_CONFIG), ("pretrain_backbone.py", BASELINE_CONFIG)):
        stopped = run(tool, str(config), "--work-dir", str(tmp_path / "w"), *nowhere)
        assert stopped.returncode == 1
        line = stopped.stderr.strip().splitlines()[-1]
        assert line.startswith("error: nvidia-smi lists 2 GPU(s) (GPU 0: NVIDIA H100 80GB HBM3) but torch cannot "
                               f"use them: torch {torch.__version__} {torch_cuda}"), line
        assert "install a torch build for CUDA 12.2 or older" in line or "install a CUDA build" in line
        assert line.endswith("pass --device cpu (or set NST_DET_DEVICE=cpu)") and "Traceback" not in stopped.stderr
    # on the CPU on purpose: past the check (the next one names the missing data)
    chosen = [run("train_det.py", str(DET_CONFIG), "--work-dir", str(tmp_path / "w"), "--device", "cpu", *nowhere),
              run("pretrain_backbone.py", BASELINE_CONFIG, "--work-dir", str(tmp_path / "w"), *nowhere,
                  NST_DET_DEVICE="cpu")]
    assert [result.returncode for result in chosen] == [1, 1]
    assert not any("nvidia-smi" in result.stderr for result in chosen)
    assert re.search(r"error: folder .*/nowhere/ does not exist", chosen[0].stderr), chosen[0].stderr[-2000:]
    assert re.search(r"error: dataset folder .*/nowhere/train does not exist", chosen[1].stderr), \
        chosen[1].stderr[-2000:]


# ----------------------------------------------------------------------------- Slurm
@pytest.mark.slow
def test_slurm_train_sh_runs_the_tool_under_srun_on_each_task(tmp_path, tiny_data):
    record, work = tmp_path / "srun.json", tmp_path / "work"
    env = {**tool_env(), **fake_slurm(tmp_path, record), "PYTHON": sys.executable, "GPUS": "2", "GPUS_PER_NODE": "2",
           "SRUN_ARGS": "--quotatype=auto"}
    result = subprocess.run(["bash", "tools/slurm_train.sh", "gpu-part", "nst-job", BASELINE_CONFIG, str(work),
                             "--cfg-options", *tiny_options(tiny_data, epochs=1), "train_cfg.val_interval=5"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    args = json.loads(record.read_text())
    assert {k: args[k] for k in ("p", "job_name", "gres", "ntasks", "ntasks_per_node", "cpus_per_task",
                                 "kill_on_bad_exit", "quotatype")} == dict(
        p="gpu-part", job_name="nst-job", gres="gpu:2", ntasks="2", ntasks_per_node="2", cpus_per_task="5",
        kill_on_bad_exit=1, quotatype="auto")
    assert args["command"][:2] == [sys.executable, "-u"]
    assert (ROOT / args["command"][2]).resolve() == ROOT / "tools" / "pretrain_backbone.py"
    assert args["command"][3:5] == [BASELINE_CONFIG, f"--work-dir={work}"]
    assert "--launcher=slurm" in args["command"]
    log = result.stdout + result.stderr
    assert "rank 0 of 2 runs on CPU over gloo" in log
    digests = re.findall(r"rank (\d): training finished, parameters ([0-9a-f]{16})", log)
    assert sorted(rank for rank, _ in digests) == ["0", "1"] and len({d for _, d in digests}) == 1
    assert (work / "epoch_1.pth").is_file()


def test_a_slurm_launch_outside_srun_is_one_line(monkeypatch, tmp_path):
    for name in ("SLURM_PROCID", "SLURM_NTASKS", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    cfg = Config(dict(launcher="slurm", work_dir=str(tmp_path)))
    with pytest.raises(NSTDetError, match=r"--launcher slurm expects to run under srun \(SLURM_PROCID is not set\)"):
        launch.start_distributed(cfg)
    cfg.launcher = "pytorch"
    with pytest.raises(NSTDetError, match="expects to run under torchrun"):
        launch.start_distributed(cfg)



def test_device_cpu_hides_the_gpus_and_restarts_a_tool_that_already_sees_one(monkeypatch):
    from nst_det.utils import gpu

    started = []
    monkeypatch.setattr(gpu.os, "execv", lambda path, argv: started.append((path, argv)))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("NST_DET_DEVICE", raising=False)
    monkeypatch.setattr(sys, "orig_argv", [sys.executable, "-u", "tools/train_det.py", "c.py", "--device", "cpu"])
    gpu.use_device("auto")
    assert "CUDA_VISIBLE_DEVICES" not in os.environ and started == []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # mmengine has chosen cuda at import
    gpu.use_device("cpu")
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "-1" and os.environ["NST_DET_DEVICE"] == "cpu"
    assert started == [(sys.executable, [sys.executable, "-u", "tools/train_det.py", "c.py", "--device", "cpu"])]
    gpu.use_device("cpu")  # the restarted tool: GPUs hidden already, no second start
    assert len(started) == 1


def test_a_failure_rank0_reported_is_not_printed_again_by_the_other_ranks(capsys):
    from nst_det.engine.cli import run_cli

    def failing(error):
        def main(argv=None):
            raise error
        return main

    assert run_cli(failing(NSTDetError("image file /x.jpg does not exist"))) == 1
    assert capsys.readouterr().err == "error: image file /x.jpg does not exist\n"
    assert run_cli(failing(RankZeroError("image file /x.jpg does not exist"))) == 1
    assert capsys.readouterr().err == ""


def test_the_parameter_digest_covers_every_parameter_shape_and_value():
    from nst_det.utils.distributed import parameter_digest

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    model.register_parameter("scale", torch.nn.Parameter(torch.tensor(1.0)))  # 0-dim, as FCOS's Scale
    model.register_parameter("empty", torch.nn.Parameter(torch.empty(0)))
    digest = parameter_digest(model)
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    model[1].running_mean += 1  # buffers follow each rank's batches: not part of it
    assert parameter_digest(model) == digest
    with torch.no_grad():
        model.scale += 1e-6
    assert parameter_digest(model) != digest
