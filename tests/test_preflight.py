"""One preflight for the tools that build a Runner, and the warning a stock tool's run gets."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from mmengine.config import Config
from tooling import run_tool

from nst_det.engine.cli import add_common_args, add_train_args
from nst_det.engine.hooks import RuntimeSwitchesHook
from nst_det.engine.preflight import preflight
from nst_det.engine.runtime import apply_runtime_switches, unapplied_switches
from nst_det.utils.errors import NSTDetError

from det_fixtures import DEMO, tiny_run_options

MMDET_TRAIN = Path(__import__("mmdet").__file__).parent / ".mim" / "tools" / "train.py"
COMMON = {"work_dir", "cfg_options", "no_data_check", "launcher", "local_rank", "device"}


def test_the_tools_share_one_set_of_runner_flags():
    train = vars(add_train_args(argparse.ArgumentParser()).parse_args(["c.py"]))
    common = vars(add_common_args(argparse.ArgumentParser()).parse_args([]))
    assert set(common) == COMMON and COMMON < set(train)
    assert {"resume", "amp", "amp_dtype", "auto_scale_lr", "deterministic", "vis"} == set(train) - COMMON - {"config"}


def demo_config(data_root: str, work_dir: Path) -> Config:
    cfg = Config.fromfile(str(DEMO / "faster-rcnn_r18_fpn_ce-backbone_8e_demo.py"))
    cfg.work_dir = str(work_dir)
    cfg.train_dataloader.dataset.data_root = cfg.val_dataloader.dataset.data_root = data_root
    return cfg


def test_preflight_checks_data_and_work_dir_and_applies_the_switches(det_data, tmp_path):
    cfg = demo_config(f"{det_data}/VOCdevkit/", tmp_path / "work")
    notes = preflight(cfg, training=True)
    assert notes and all(note.startswith("dataset ok: ") for note in notes)
    assert cfg.applied_runtime_switches == ["checked_image_loading", "seed_per_sample"]
    assert unapplied_switches(cfg, training=True) == []

    (tmp_path / "a_file").write_text("")
    with pytest.raises(NSTDetError, match="work dir .* is not writable"):
        preflight(demo_config(f"{det_data}/VOCdevkit/", tmp_path / "a_file" / "work"), training=True)
    with pytest.raises(NSTDetError, match="missing"):
        preflight(demo_config(str(tmp_path / "missing"), tmp_path / "work"), training=True)


def test_a_stock_tool_run_is_told_which_switches_it_lost(monkeypatch):
    from nst_det.engine.hooks import runtime_switches_hook

    cfg = Config.fromfile(str(DEMO / "faster-rcnn_r18_fpn_ce-backbone_8e_demo.py"))
    runner = SimpleNamespace(cfg=cfg)
    logged = []
    monkeypatch.setattr(runtime_switches_hook, "print_log", lambda message, **kw: logged.append((message, kw)))

    def warnings() -> list[str]:
        lines = [message for message, kw in logged if kw.get("level") == logging.WARNING]
        logged.clear()
        return lines

    RuntimeSwitchesHook().before_train(runner)  # as under mmdet's tools/train.py: nothing applied
    RuntimeSwitchesHook().before_test(runner)
    lines = warnings()
    assert len(lines) == 2 and not any("\n" in line for line in lines)
    assert "sets checked_image_loading, seed_per_sample," in lines[0] and "resumed run" in lines[0]
    assert "seed_per_sample" not in lines[1]  # testing draws no augmentation
    apply_runtime_switches(cfg, training=True)
    RuntimeSwitchesHook().before_train(runner)
    assert warnings() == []


@pytest.mark.slow
def test_mmdet_train_py_warns_in_one_line(det_data, weight_files, tmp_path):
    # stock train.py merges --cfg-options plainly: nested paths are not rebuilt from data_root
    data_root = f"{det_data}/VOCdevkit/"
    stock_options = [o for o in tiny_run_options(det_data / "VOCdevkit", weight_files)
                     if not o.startswith(("data_root=", "backbone_checkpoint=", "teacher_checkpoint="))]
    stock_options += [f"{loader}.dataset.data_root={data_root}" for loader in ("train_dataloader", "val_dataloader",
                                                                              "test_dataloader")]
    result = run_tool(str(MMDET_TRAIN), [str(DEMO / "faster-rcnn_r18_fpn_ce-backbone_8e_demo.py"), "--work-dir",
                                         str(tmp_path),
                                         "--cfg-options", *stock_options, "model.backbone.init_cfg=None"])
    assert result.returncode == 0, result.stderr[-3000:]
    warning = [line for line in (result.stdout + result.stderr).splitlines() if "only nst_det's tools" in line]
    assert len(warning) == 1 and "checked_image_loading, seed_per_sample" in warning[0], warning
    ours = run_tool("train_det.py", [str(DEMO / "faster-rcnn_r18_fpn_ce-backbone_8e_demo.py"), "--work-dir",
                                     str(tmp_path / "ours"),
                                     "--cfg-options", *tiny_run_options(det_data / "VOCdevkit", weight_files)])
    assert ours.returncode == 0, ours.stderr[-3000:]
    assert "only nst_det's tools" not in ours.stdout + ours.stderr
