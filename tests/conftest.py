"""Shared fixtures: tiny generated data and running the project's tools as a user would."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision

import nst_det.register_all  # noqa: F401  (what the tools and configs register)
from nst_det.data import make_classification_dataset

pytest_plugins = ["det_fixtures"]  # detection fixtures (det_data, weight_files)

ROOT = Path(__file__).resolve().parents[1]
PRETRAIN_TOOL = str(ROOT / "tools" / "pretrain_backbone.py")
NST_CONFIG = str(ROOT / "configs" / "pretrain" / "demo_nst_r34_r18.py")
BASELINE_CONFIG = str(ROOT / "configs" / "pretrain" / "demo_baseline_r18.py")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """20 train / 10 val images of the 5 demo classes, 40 px, ImageNet layout."""
    root = tmp_path_factory.mktemp("data") / "imagenet"
    make_classification_dataset(root, train_per_class=4, val_per_class=2, image_size=40, seed=3)
    return root


@pytest.fixture(scope="session")
def teacher_file(tmp_path_factory) -> Path:
    """A torchvision-format ResNet-34 state dict with 4 classes (an ImageNet-stage teacher)."""
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("teacher") / "resnet34.pth"
    torch.save(torchvision.models.resnet34(num_classes=4).state_dict(), path)
    return path


def tiny_options(data_root: Path, epochs: int = 2) -> list[str]:
    """``--cfg-options`` shrinking a demo pretrain config to 5 iterations per epoch on ``data_root``."""
    return [
        f"data_root={data_root}/", f"train_cfg.max_epochs={epochs}", "train_cfg.val_interval=1",
        "train_dataloader.batch_size=4", "train_dataloader.num_workers=0", "train_dataloader.persistent_workers=False",
        "val_dataloader.num_workers=0", "val_dataloader.persistent_workers=False",
        "train_dataloader.dataset.crop_size=32", "val_dataloader.dataset.crop_size=32",
        "val_dataloader.dataset.resize_size=36", "default_hooks.logger.interval=1",
        "default_hooks.checkpoint.interval=1", "default_hooks.checkpoint.max_keep_ckpts=3",
    ]


def tool_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def run_tool(args: list[str], tool: str = PRETRAIN_TOOL,
             launcher: list[str] | None = None) -> subprocess.CompletedProcess:
    """Run ``tool`` (default tools/pretrain_backbone.py) in a subprocess from the repository root."""
    cmd = (launcher or [sys.executable]) + [tool, *args]
    return subprocess.run(cmd, cwd=ROOT, env=tool_env(), capture_output=True, text=True, timeout=600)


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
