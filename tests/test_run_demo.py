"""tools/run_demo.py: the demo's steps and profiles, its one-line-per-step output and report, and the
detection A/B over seeds (plan, table, tiny end-to-end runs)."""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
from pathlib import Path

import pytest
from tooling import run_tool

from nst_det.reporting import mean_std, seed_table
from nst_det.utils.errors import NSTDetError

from _lib.steps import Step, StepFailed, duration, run_steps

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "run_demo.py"


def _load_tool():
    spec = importlib.util.spec_from_file_location("run_demo", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_demo"] = module  # dataclasses resolve string annotations through the module
    spec.loader.exec_module(module)
    return module


run_demo = _load_tool()
ROWS = ["CE backbone", "NST backbone", "NST backbone + FPN-NST", "NST backbone + FPN-MSE (same teacher)"]


def option(step, key: str):
    """The value of ``key=`` among a step's ``--cfg-options`` (None when absent)."""
    return next((arg.split("=", 1)[1] for arg in step.command if arg.startswith(f"{key}=")), None)


def test_the_demo_runs_every_detection_row_once_with_the_same_teacher_control(tmp_path):
    steps = run_demo.build_steps(tmp_path)
    trains = {s.name: s for s in steps if "train_det.py" in s.command[1]}
    assert list(trains) == ["det_teacher_r34", "det_baseline", "det_nst_backbone", "det_nst_fpn", "det_fpn_mse"]
    # the NST and MSE students: same backbone, same teacher detector, same schedule (no overrides)
    nst, mse = trains["det_nst_fpn"], trains["det_fpn_mse"]
    for key in ("backbone_checkpoint", "teacher_checkpoint", "data_root"):
        assert option(nst, key) == option(mse, key) is not None
    assert option(trains["det_baseline"], "teacher_checkpoint") is None
    assert option(nst, "backbone_checkpoint") == option(trains["det_nst_backbone"], "backbone_checkpoint")
    report = steps[-1]
    assert "compare_runs.py" in report.command[1] and "--select-on" not in report.command
    assert report.command[report.command.index("--names") + 1:][:4] == ROWS


def test_the_default_demo_is_the_short_one_and_full_the_long_one(tmp_path):
    default, full = run_demo.build_steps(tmp_path), run_demo.build_steps(tmp_path, run_demo.FULL)
    students = lambda steps: [s.name for s in steps if "pretrain_backbone.py" in s.command[1]]  # noqa: E731
    assert students(default) == ["teacher_r34", "baseline_r18", "nst_r18"]
    assert students(full) == ["teacher_r34", "baseline_r18", "kd_r18", "nst_r18", "kd_nst_r18"]
    det_train = next(s for s in default if s.name == "det_baseline")
    assert option(det_train, "train_cfg.max_epochs") == "4" and det_train.done.name == "epoch_4.pth"
    assert option(det_train, "param_scheduler.1.milestones") == "[4]"
    assert option(det_train, "param_scheduler.0.end") == "20"
    det_teacher = next(s for s in default if s.name == "det_teacher_r34")  # the teacher detector: its full schedule
    assert option(det_teacher, "train_cfg.max_epochs") is None and det_teacher.done.name == "epoch_8.pth"
    for step in (det_train, det_teacher):  # every detector at the same, smaller size
        assert [option(step, f"{loader}.dataset.pipeline.{i}.scale") for loader, i in
                (("train_dataloader", 2), ("val_dataloader", 1), ("test_dataloader", 1))] == ["(192,144)"] * 3
    assert option(next(s for s in full if s.name == "det_baseline"), "train_cfg.max_epochs") is None  # the config's 8
    teacher = next(s for s in default if s.name == "teacher_r34")
    assert option(teacher, "train_cfg.max_epochs") is None  # the teacher keeps its 12 epochs: the better network
    assert "--train-per-class" in default[0].command and "--train-per-class" not in full[0].command


@pytest.mark.slow
def test_one_line_per_step_and_a_failure_shows_its_log(tmp_path, capsys):
    ok = Step("first", "a step that works", [sys.executable, "-c", "print('lots of output\\n' * 50)"],
              headline=lambda: "score 0.5", cost=1)
    done = tmp_path / "done.txt"
    done.write_text("")
    skipped = Step("second", "a step already done", [sys.executable, "-c", "raise SystemExit(9)"], done=done)
    failing = Step("third", "a step that fails", [sys.executable, "-c", "print('the cause'); raise SystemExit(3)"])
    with pytest.raises(StepFailed, match=r"step 3 \(a step that fails\) failed; log: .*03-third\.log"):
        run_steps([ok, skipped, failing], tmp_path, tmp_path / "logs")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[1/3] a step that works") and "done in" in lines[0] and "score 0.5" in lines[0]
    assert "lots of output" not in "\n".join(lines)  # the tool's output went to its log
    assert lines[1].startswith("[2/3] a step already done") and "already done" in lines[1]
    assert lines[2].startswith("[3/3] a step that fails") and "FAILED after" in lines[2] and "(exit 3)" in lines[2]
    assert "03-third.log" in lines[3] and "the cause" in lines
    assert (tmp_path / "logs" / "01-first.log").read_text().count("lots of output") == 1 + 50  # the command, its output
    assert [duration(s) for s in (5, 65, 206, 3720)] == ["5s", "1m05s", "3m26s", "1h02m"]


@pytest.mark.slow
def test_tiny_demo_prints_one_line_per_step_and_writes_one_report(tmp_path):
    """About 3 minutes on 2 cores: the default demo's steps on tiny data."""
    result = run_tool(TOOL, ["--tiny", "--work-dir", tmp_path], timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    steps = run_demo.build_steps(tmp_path, run_demo.TINY)
    assert len(lines) == len(steps) + 2 < 60  # a header, one line per step, the last line
    assert lines[-1].endswith(f"report: {tmp_path / 'report.html'} (and report.md)")
    assert all(f"[{i}/{len(steps)}]" in line for i, line in enumerate(lines[1:-1], 1))
    report = (tmp_path / "report.md").read_text()
    assert "## ImageNet stage" in report and "| CE | resnet18 |" in report and "| NST | resnet18 |" in report
    assert "## Detection stage" in report and "| teacher R-34-FPN | CE ResNet-34 |" in report
    assert all(f"| R-18-FPN: {label} |" in report for label in ROWS)
    for image in ("pretrain_curves.png", "detection_curves.png", "selectivity_nst_r18.png",
                  "report_images/test_00000_gt_student_teacher.png"):
        assert f"]({image})" in report and (tmp_path / image).is_file()
    assert "tools/train_det.py configs/distill/mmdet/mse/mse-fpn_frcnn-r34_frcnn-r18_8e_demo.py" in report  # commands
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 6 and "src='report_images" not in page  # self-contained


def test_seeds_mode_runs_each_row_per_seed_from_shared_backbones_and_teacher(tmp_path):
    steps = run_demo.build_seed_steps(tmp_path, 3)
    assert [s.name for s in steps[:6]] == ["demo data", "teacher_r34", "baseline_r18", "nst_r18", "det_teacher_r34",
                                           "test det_teacher_r34"]
    trains = [s for s in steps[6:] if "train_det.py" in s.command[1]]
    tests = [s for s in steps[6:] if "test_det.py" in s.command[1]]
    assert len(trains) == len(tests) == 3 * 4
    assert [option(s, "randomness.seed") for s in trains] == [str(seed) for seed in range(3) for _ in range(4)]
    assert len({s.command[s.command.index("--work-dir") + 1] for s in trains}) == 12
    assert {option(s, "teacher_checkpoint") for s in trains} - {None} == {str(tmp_path / "det_teacher_r34")}
    # every test reads the final checkpoint of its run (last_checkpoint of the work dir), not a picked epoch
    assert all(t.command[3] == s.command[s.command.index("--work-dir") + 1] for s, t in zip(trains, tests))


def test_the_methods_to_compare_are_rows_of_the_same_teacher_backbone_and_schedule(tmp_path):
    methods = run_demo.parse_methods("nst,mse,pkd,cwd")
    steps = run_demo.build_seed_steps(tmp_path, 2, methods=methods)
    trains = [s for s in steps[6:] if "train_det.py" in s.command[1]]
    assert len(trains) == 2 * 6
    labels = [row.label for row in run_demo.det_rows(methods)]
    assert labels == ROWS + ["NST backbone + FPN-PKD (same teacher)", "NST backbone + FPN-CWD (same teacher)"]
    fpn = {s.command[2]: s for s in trains[:6] if option(s, "teacher_checkpoint")}
    assert sorted(fpn) == sorted(f"configs/distill/mmdet/{m}/{m}-fpn_frcnn-r34_frcnn-r18_8e_demo.py" for m in methods)
    assert all((run_demo.ROOT / config).is_file() for config in fpn)
    for key in ("backbone_checkpoint", "teacher_checkpoint", "data_root", "randomness.seed"):
        assert len({option(s, key) for s in fpn.values()}) == 1
    table_rows = list(run_demo.det_rows(methods))
    assert [r.name for r in table_rows][2:] == ["det_nst_fpn", "det_fpn_mse", "det_fpn_pkd", "det_fpn_cwd"]
    for bad in ("nst,nst", "nst,fitnet", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="--methods takes distinct names among nst,mse,pkd,cwd"):
            run_demo.parse_methods(bad)


def test_seed_table_is_mean_and_sample_std(tmp_path):
    voc = {"a": [0.70, 0.74, 0.69], "b": [0.80, 0.78, 0.85]}
    coco = {"a": [0.45, 0.47, 0.44], "b": [0.55, 0.50, 0.57]}
    results = {row: [{"pascal_voc/mAP": v, "coco/bbox_mAP": c} for v, c in zip(voc[row], coco[row])] for row in voc}
    lines = seed_table(results, run_demo.SEED_METRICS).splitlines()
    assert lines[0] == "| row | seeds | VOC mAP (mean ± std) | COCO AP (mean ± std) | VOC mAP per seed |"
    for line, row in zip(lines[2:], voc):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[:2] == [row, "3"]
        assert cells[2] == f"{statistics.mean(voc[row]):.3f} ± {statistics.stdev(voc[row]):.3f}"
        assert cells[3] == f"{statistics.mean(coco[row]):.3f} ± {statistics.stdev(coco[row]):.3f}"
        assert cells[4] == ", ".join(f"{v:.3f}" for v in voc[row])
    assert mean_std([0.5]) == (0.5, None)
    assert "| 0.500 |" in seed_table({"x": [{"pascal_voc/mAP": 0.5, "coco/bbox_mAP": 0.5}]}, run_demo.SEED_METRICS)
    with pytest.raises(NSTDetError, match="lacks 'coco/bbox_mAP' in 1 of its 2 runs"):
        seed_table({"x": [{"pascal_voc/mAP": 0.5, "coco/bbox_mAP": 0.5}, {"pascal_voc/mAP": 0.5}]},
                   run_demo.SEED_METRICS)


@pytest.mark.slow
def test_tiny_detection_ab_over_two_seeds_end_to_end(tmp_path):
    """3-5 minutes on 2 cores: tiny data, one-epoch schedules, 4 rows x 2 seeds."""
    result = run_tool(TOOL, ["--tiny", "--seeds", "2", "--work-dir", tmp_path], timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = (tmp_path / "seeds_ab.md").read_text().strip().splitlines()
    assert [line.split("|")[1].strip() for line in table[2:]] == ROWS
    assert all(line.split("|")[2].strip() == "2" for line in table[2:])
    assert "over 2 seed(s)" in result.stdout and table[0] in result.stdout
    for seed in (0, 1):
        metrics = json.loads((tmp_path / f"seed{seed}" / "det_fpn_mse" / "test" / "test_metrics.json").read_text())
        assert {"pascal_voc/mAP", "coco/bbox_mAP"} <= set(metrics)
        dumped = next((tmp_path / f"seed{seed}" / "det_fpn_mse").glob("*/vis_data/config.py")).read_text()
        assert f"randomness = dict(seed={seed})" in dumped and "MSELoss" in dumped
    # a rerun skips every finished step and prints the same table
    again = run_tool(TOOL, ["--tiny", "--seeds", "2", "--work-dir", tmp_path], timeout=300)
    assert again.returncode == 0 and again.stdout.count("already done") == 22 and table[2] in again.stdout
