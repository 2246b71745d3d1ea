"""Shared fixtures (tiny generated data, a teacher file) and the guard that keeps ``-m "not slow"`` fast.

Helpers that run the tools are in ``tooling.py``; detection fixtures in ``det_fixtures.py``.
"""
from __future__ import annotations

import subprocess
import sys
import traceback
from pathlib import Path

import pytest
import torch
import torchvision

import nst_det.register_all  # noqa: F401  (what the tools and configs register)
from nst_det.data import make_classification_dataset

pytest_plugins = ["det_fixtures"]  # detection fixtures (det_data, weight_files)

ROOT = Path(__file__).resolve().parents[1]
# the tools' helper package (tools/_lib), importable as the tools import it (a tool runs with tools/ on sys.path)
sys.path.append(str(ROOT / "tools"))


@pytest.fixture(autouse=True)
def subprocesses_only_in_slow_tests(request, monkeypatch):
    """A test that starts a process (a tool, a fresh interpreter, ruff; directly or through the project's
    code) must be marked ``slow``: refuse the process otherwise. Processes that libraries start on their own
    (mmengine's environment probe) are allowed."""
    if request.node.get_closest_marker("slow"):
        return
    popen_init = subprocess.Popen.__init__

    def guarded_init(self, *args, **kwargs):
        caller = next((frame for frame in reversed(traceback.extract_stack()[:-1])
                       if not frame.filename.endswith("subprocess.py")), None)
        where = Path(caller.filename).resolve() if caller is not None else None
        if where is not None and where.is_relative_to(ROOT) and not where.is_relative_to(ROOT / ".venv"):
            raise AssertionError(f"{request.node.nodeid} starts a process ({caller.filename}:{caller.lineno}): "
                                 "mark it @pytest.mark.slow")
        popen_init(self, *args, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded_init)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """20 train / 10 val images of the 5 demo classes, 40 px, ImageNet layout."""
    root = tmp_path_factory.mktemp("data") / "imagenet"
    make_classification_dataset(root, train_per_class=4, val_per_class=2, image_size=40, seed=3)
    return root


def _resnet34_file(tmp_path_factory, folder: str, num_classes: int, seed: int) -> Path:
    """A random torchvision-format ResNet-34 state dict (as a user's classifier checkpoint), in a new folder."""
    torch.manual_seed(seed)
    path = tmp_path_factory.mktemp(folder) / "resnet34.pth"
    torch.save(torchvision.models.resnet34(num_classes=num_classes).state_dict(), path)
    return path


@pytest.fixture(scope="session")
def teacher_file(tmp_path_factory) -> Path:
    """A torchvision-format ResNet-34 state dict with 4 classes (an ImageNet-stage teacher)."""
    return _resnet34_file(tmp_path_factory, "teacher", num_classes=4, seed=1)


@pytest.fixture(scope="session")
def tiny_teacher_file(tmp_path_factory) -> Path:
    """A torchvision-format ResNet-34 state dict with the 5 classes of ``tiny_data`` (the tools' teacher)."""
    return _resnet34_file(tmp_path_factory, "tiny_teacher", num_classes=5, seed=0)
