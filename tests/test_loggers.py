"""``--vis tensorboard|wandb|local`` on both training tools, and tools/compare_runs.py on TensorBoard event files.

``tests/data/frcnn_demo_tensorboard/`` is a real launch folder: ``tools/train_det.py
configs/detection/demo/faster-rcnn_r18_fpn_ce-backbone_8e_demo.py --vis tensorboard`` (3 epochs of 2 iterations on the
tiny generated VOC set, tensorboard 2.21 installed), its ``events.out.tfevents.*`` written by mmengine's
``TensorboardVisBackend`` beside the ``scalars.json`` of ``LocalVisBackend``.
"""
from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from importlib import import_module
from pathlib import Path

import pytest
from mmengine.config import Config
from tooling import ROOT, run_tool

from nst_det.engine.cli import add_train_args, load_train_config
from nst_det.reporting import load_run
from nst_det.reporting.tensorboard import read_event_scalars
from nst_det.utils import loggers
from nst_det.utils.errors import NSTDetError

RUN = ROOT / "tests" / "data" / "frcnn_demo_tensorboard"
BASELINE_DEMO = str(ROOT / "configs" / "detection" / "demo" / "faster-rcnn_r18_fpn_ce-backbone_8e_demo.py")
PRETRAIN_DEMO = str(ROOT / "configs" / "distill" / "imagenet" / "ce" / "ce_r18_8e_demo.py")


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


@pytest.mark.parametrize("config", [BASELINE_DEMO, PRETRAIN_DEMO])
def test_vis_adds_mmengines_backends_and_keeps_the_local_one(config, tmp_path, monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())  # as if both were installed
    args = add_train_args(argparse.ArgumentParser()).parse_args(
        [config, "--work-dir", str(tmp_path), "--vis", "tensorboard", "wandb"])
    cfg = load_train_config(args)
    types = ["LocalVisBackend", "TensorboardVisBackend", "WandbVisBackend"]
    assert [b["type"] for b in cfg.visualizer.vis_backends] == types
    args = add_train_args(argparse.ArgumentParser()).parse_args([config, "--work-dir", str(tmp_path), "--vis", "local"])
    assert [b["type"] for b in load_train_config(args).visualizer.vis_backends] == ["LocalVisBackend"]


@pytest.mark.parametrize("name, package", [("tensorboard", "tensorboard"), ("wandb", "wandb")])
def test_a_missing_backend_package_is_named_in_one_line(name, package):
    if installed(package):
        pytest.skip(f"{package} is installed here")
    with pytest.raises(NSTDetError, match=f"--vis {name} needs the {package} package, which is not installed "
                                          f"\\(pip install {package}\\)"):
        loggers.set_vis_backends(Config(dict()), [name])


def test_unknown_backends_are_refused_by_the_flag(capsys):
    with pytest.raises(SystemExit):
        add_train_args(argparse.ArgumentParser()).parse_args([BASELINE_DEMO, "--vis", "mlflow"])
    assert "invalid choice: 'mlflow'" in capsys.readouterr().err


def split_run(tmp_path: Path) -> tuple[Path, Path]:
    """The fixture launch as two work dirs: one with scalars.json alone, one with the event file alone."""
    local, tensorboard = tmp_path / "local", tmp_path / "tensorboard"
    for target, keep in ((local, "scalars.json"), (tensorboard, "events.out.tfevents.")):
        shutil.copytree(RUN, target)
        for path in target.rglob("*"):
            if path.is_file() and not path.name.startswith(keep):
                path.unlink()
    return local, tensorboard


def test_event_files_read_as_the_scalars_mmengine_logged(tmp_path):
    local, tensorboard = split_run(tmp_path)
    records = read_event_scalars(next(tensorboard.rglob("events.out.tfevents.*")))
    assert [r["step"] for r in records] == [1, 2, 1, 3, 4, 2, 5, 6, 3]  # 3 epochs of 2 iterations, val each epoch
    json_run, event_run = load_run(local), load_run(tensorboard)
    assert event_run.scalars[0].name.startswith("events.out.tfevents.")
    assert event_run.by_epoch and event_run.loss_keys == json_run.loss_keys
    assert event_run.metric_keys() == json_run.metric_keys() == ["pascal_voc/mAP", "pascal_voc/AP50"]
    for key, which in (("loss", "train"), ("loss_cls", "train"), ("lr", "train"), ("pascal_voc/mAP", "val")):
        steps, values = event_run.series(key, which)
        assert (steps, pytest.approx(values, rel=1e-6)) == json_run.series(key, which)  # float32 in the file


def test_compare_runs_reports_tensorboard_runs(tmp_path, capsys):
    local, tensorboard = split_run(tmp_path)
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        compare_runs = import_module("compare_runs")
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert compare_runs.main([str(local), str(tensorboard), "--metric", "pascal_voc/mAP", "--markdown"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| local") or
            line.startswith("| tensorboard")]
    local_row, tensorboard_row = (row.split("|") for row in rows)
    # the same final metric and last losses from both files, and no difference to the reference
    assert local_row[2:8] + local_row[9:] == tensorboard_row[2:8] + tensorboard_row[9:]
    assert tensorboard_row[8].strip() == "+0.0000" and tensorboard_row[9].strip() == "2.1264"


@pytest.mark.slow
@pytest.mark.skipif(not installed("tensorboard"), reason="tensorboard is not installed (requirements leave it out)")
def test_train_det_logs_to_tensorboard(det_data, weight_files, tmp_path):
    from det_fixtures import tiny_run_options

    result = run_tool("train_det.py", [BASELINE_DEMO, "--work-dir", str(tmp_path), "--vis", "tensorboard",
                                       "--cfg-options", *tiny_run_options(det_data / "VOCdevkit", weight_files)])
    assert result.returncode == 0, result.stderr[-3000:]
    events = next(tmp_path.rglob("events.out.tfevents.*"))
    assert any("loss" in record for record in read_event_scalars(events))
