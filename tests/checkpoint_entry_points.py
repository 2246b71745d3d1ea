"""Every place a tool reads a checkpoint, called as the tool calls it (in-process).

Shared by the fast malicious-pickle tests (``test_checkpoint_reader.py``) and the subprocess harness
that reads the hostile-file battery at each entry point (``reader_harness.py``). Each entry is
``(path, scratch_dir) -> anything``: it returns (loaded) or raises ``NSTDetError`` (refused).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import torch
import torchvision
from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader

from nst_det.det import build_teacher
from nst_det.det.weights import check_backbone_file
from nst_det.engine.cli import run_cli
from nst_det.engine.plain_data import convert_checkpoint
from nst_det.engine.preflight import check_checkpoints
from nst_det.pretrain.classifiers import load_classifier_weights
from nst_det.pretrain.export import backbone_from_checkpoint
from nst_det.utils.checkpoint import read_checkpoint

ROOT = Path(__file__).resolve().parents[1]
TEACHER_CONFIG = ROOT / "configs" / "detection" / "demo" / "faster-rcnn_r34_fpn_ce-backbone_8e_demo.py"


def tool_module(name: str) -> Any:
    """``tools/<name>.py`` imported as a module (its ``main(argv)`` is what the command line runs)."""
    spec = importlib.util.spec_from_file_location(f"tool_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def backbone_with_file(path: Path) -> Any:
    from mmdet.models.backbones import ResNet

    return ResNet(depth=18, init_cfg=dict(type="Pretrained", checkpoint=str(path)))


def _cli(tool: str, *args: str) -> Callable[[Path, Path], Any]:
    """The tool's command line, run in-process: exit status 0 (loaded) or 1 with one ``error:`` line."""
    def run(path: Path, scratch: Path) -> int:
        return run_cli(tool_module(tool).main, [a.format(path=path, out=scratch / "out.pth") for a in args])
    return run


ENTRY_POINTS: dict[str, Callable[[Path, Path], Any]] = {
    "read_checkpoint": lambda p, d: read_checkpoint(p, what="checkpoint"),
    "teacher classifier": lambda p, d: load_classifier_weights(torchvision.models.resnet18(), p, "resnet18"),
    "teacher detector": lambda p, d: build_teacher(TEACHER_CONFIG, p),
    "backbone file": lambda p, d: check_backbone_file(backbone_with_file(p)),
    "load_from": lambda p, d: check_checkpoints(Config(dict(load_from=str(p), resume=False, work_dir=str(d)))),
    "--resume": lambda p, d: check_checkpoints(Config(dict(load_from=str(p), resume=True, work_dir=str(d)))),
    "mmengine (Runner.resume/load_checkpoint, Pretrained)": lambda p, d: CheckpointLoader.load_checkpoint(str(p)),
    "test_det checkpoint": lambda p, d: tool_module("test_det").load_student_weights(
        SimpleNamespace(model=torch.nn.Conv2d(3, 1, 1)), str(p)),
    "export_backbone input": lambda p, d: backbone_from_checkpoint(p),
    "convert_checkpoint input": lambda p, d: convert_checkpoint(p, d / "converted.pth"),
}
# the command lines of the tools that take a checkpoint argument directly
TOOL_COMMANDS: dict[str, Callable[[Path, Path], Any]] = {
    "tools/convert_checkpoint.py": _cli("convert_checkpoint", "{path}", "{out}"),
    "tools/export_backbone.py": _cli("export_backbone", "{path}", "{out}"),
}
