"""Running the project's tools as a user would, and the small inputs the tool tests share.

Plain helpers, imported by the test modules (``from tooling import run_tool``); fixtures live in
``conftest.py`` and ``det_fixtures.py``. Every test that starts a process is marked ``slow`` (the
``conftest.py`` guard refuses a subprocess from any other test), so ``pytest -m "not slow"`` is the
fast loop.
"""
from __future__ import annotations

import os
import pickle
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Optional, Union

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools"
PRETRAIN = "pretrain_backbone.py"  # the ImageNet-stage tool
NST_CONFIG = str(ROOT / "configs" / "distill" / "imagenet" / "nst" / "nst_r34_r18_8e_demo.py")
BASELINE_CONFIG = str(ROOT / "configs" / "distill" / "imagenet" / "ce" / "ce_r18_8e_demo.py")


def tool_env() -> dict[str, str]:
    """The environment tools run in: unbuffered output, one OpenMP thread per process (parallel regions
    slow down many times over when another process, or another rank, competes for the cores)."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def tool_command(tool: Union[str, Path], args: list[str], launcher: Optional[list[str]] = None) -> list[str]:
    """``[python, tools/<tool>, *args]``; ``tool`` is a file name in ``tools/`` or a path (e.g. mmdet's
    own ``tools/train.py``); ``launcher`` replaces the interpreter (``[torchrun, ...]``)."""
    return (launcher or [sys.executable]) + [str(TOOLS / tool), *map(str, args)]


def run_tool(tool: Union[str, Path], args: list[str], launcher: Optional[list[str]] = None,
             timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a tool from the repository root (see :func:`tool_command`); returns the completed process."""
    return subprocess.run(tool_command(tool, args, launcher), cwd=ROOT, env=tool_env(), capture_output=True,
                          text=True, timeout=timeout)


def tiny_options(data_root: Path, epochs: int = 2) -> list[str]:
    """``--cfg-options`` shrinking a demo pretrain config to 5 iterations per epoch on ``data_root``."""
    return [
        f"data_root={data_root}/", f"train_cfg.max_epochs={epochs}", "train_cfg.val_interval=1",
        "train_dataloader.batch_size=4", "train_dataloader.num_workers=0", "train_dataloader.persistent_workers=False",
        "val_dataloader.num_workers=0", "val_dataloader.persistent_workers=False",
        "train_dataloader.dataset.crop_size=32", "val_dataloader.dataset.crop_size=32",
        "val_dataloader.dataset.resize_size=36", "default_hooks.logger.interval=1",
        "default_hooks.checkpoint.interval=1", "default_hooks.checkpoint.max_keep_ckpts=3",
        "teacher_check=False",  # the tests' teachers are random networks: near chance by design
    ]


class _CreatesFile:
    """Unpickling this calls ``open(target, "w")``: what a malicious checkpoint does."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def write_malicious_checkpoint(path: Path, creates: Path, key: str = "state_dict") -> Path:
    """A ``.pth`` whose unpickling would create the file ``creates`` (``{key: <code>}``)."""
    with open(path, "wb") as f:
        pickle.dump({key: _CreatesFile(str(creates))}, f)
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a rendezvous)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def executable(path: Path, text: str) -> Path:
    """Write an executable script."""
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


FAKE_SRUN = """#!{python}
# Records srun's arguments, then runs the command once per task with Slurm's task variables (as srun would).
import argparse, json, os, subprocess, sys
parser = argparse.ArgumentParser()
for flag in ("-p", "--job-name", "--gres", "--ntasks", "--ntasks-per-node", "--cpus-per-task", "--quotatype"):
    parser.add_argument(flag)
parser.add_argument("--kill-on-bad-exit", type=int)
parser.add_argument("command", nargs=argparse.REMAINDER)
args = parser.parse_args()
with open(os.environ["FAKE_SRUN_RECORD"], "w") as f:
    json.dump(vars(args), f)
tasks = [subprocess.Popen(args.command, env={{**os.environ, "SLURM_PROCID": str(i), "SLURM_NTASKS": args.ntasks,
                                             "SLURM_LOCALID": str(i), "SLURM_NODELIST": "node[01]"}})
         for i in range(int(args.ntasks))]
sys.exit(max(task.wait() for task in tasks))
"""
FAKE_SCONTROL = """#!/usr/bin/env bash
[ "$1 $2 $3" = "show hostname node[01]" ] && echo localhost
"""


def fake_slurm(folder: Path, record: Path) -> dict[str, str]:
    """A fake ``srun`` (records its arguments as JSON in ``record``, then runs the command once per task with
    Slurm's task variables) and ``scontrol`` in ``folder``; returns the environment that puts them first on PATH."""
    executable(folder / "srun", FAKE_SRUN.format(python=sys.executable))
    executable(folder / "scontrol", FAKE_SCONTROL)
    return {"PATH": f"{folder}:{os.environ['PATH']}", "FAKE_SRUN_RECORD": str(record), "MASTER_PORT": str(free_port())}
