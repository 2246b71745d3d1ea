"""tools/run_demo.py: the demo's steps, the detection A/B over seeds (plan, table, a tiny end-to-end run)."""
from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from nst_det.reporting import mean_std, seed_table
from nst_det.utils.errors import NSTDetError

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
    result = subprocess.run([sys.executable, str(TOOL), "--tiny", "--seeds", "2", "--work-dir", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=900,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
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
    again = subprocess.run([sys.executable, str(TOOL), "--tiny", "--seeds", "2", "--work-dir", str(tmp_path)],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stdout.count("already done") == 22 and table[2] in again.stdout
