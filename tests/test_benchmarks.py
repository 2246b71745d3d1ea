"""The step benchmarks run end to end at tiny sizes and print their side-by-side tables."""
from __future__ import annotations

import re

import pytest
from tooling import run_tool

pytestmark = pytest.mark.slow


def table_rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and not line.startswith("| variant") and len(cells) > 2:
            rows[cells[0]] = cells[1:]
    return rows


def test_benchmark_pretrain_compares_distillation_with_teacher_forward_plus_student_step():
    result = run_tool("benchmark_pretrain.py", ["--device", "cpu", "--student", "resnet18", "--teacher", "resnet34",
                                                "--taps", "layer3", "layer4", "--num-classes", "10", "--batch", "2",
                                                "--size", "64", "--steps", "1", "--warmup", "0",
                                                "--amp"])  # bf16, as the GPU preset
    assert result.returncode == 0, result.stderr[-3000:]
    assert "bf16 autocast" in result.stdout
    assert "('layer3.1.relu:input', 'layer3.5.relu:input'), ('layer4.1.relu:input', 'layer4.2.relu:input')" \
        in result.stdout
    rows = table_rows(result.stdout)
    assert list(rows) == ["student step", "student step + teacher forward", "student step + teacher forward + NST"]
    assert rows["student step + teacher forward"][1] == "1.000x"
    assert all(re.fullmatch(r"\d+\.\d{3}x", row[1]) and float(row[2]) > 0 for row in rows.values())


def test_benchmark_det_compares_nst_on_fpn_with_teacher_forward_plus_student_step():
    result = run_tool("benchmark_det.py", ["--device", "cpu", "--batch", "1", "--size", "64", "96",
                                           "--steps", "1", "--warmup", "0"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "loss_nst on p2 (stride 4, weight 1), p3" in result.stdout + result.stderr
    assert "p6" not in result.stdout + result.stderr
    assert result.returncode == 0, result.stderr[-3000:]
    rows = table_rows(result.stdout)
    assert list(rows) == ["student step", "student step + teacher forward",
                          "student step + teacher forward + NST P2-P5"]  # the shipped configs' levels
    assert rows["student step + teacher forward"][1] == "1.000x"
    assert all(float(row[0]) > 0 for row in rows.values())


def test_benchmark_reader_compares_with_torch_load():
    result = run_tool("benchmark_reader.py", ["--arch", "resnet18", "--repeats", "1"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"torch\.load\(weights_only=True\)\s+\d+\.\d ms", result.stdout)
    assert re.search(r"nst_det reader\s+\d+\.\d ms", result.stdout)
    assert re.search(r"ratio reader / torch\.load\s+\d+\.\d\dx", result.stdout), result.stdout


def test_benchmark_scale_reports_build_preflight_and_worker_memory_beside_the_old_ways(tmp_path):
    result = run_tool("benchmark_scale.py", ["--out", str(tmp_path), "--imagenet-images", "20000",
                                             "--coco-images", "300", "--coco-boxes", "2000", "--workers", "2"])
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {k: v for k, v in table_rows(result.stdout).items() if k not in ("ImageNet samples kept as", "step")}
    assert set(rows) == {"SampleTable (one buffer)", "list of (Path, label), before",
                         "check_datasets (the whole preflight)", "json.load, masks dropped while parsing",
                         "json.load, plain (before)", "image files: one folder listing",
                         "image files: a stat per image (before)"}
    # workers indexing the compact table copy (almost) nothing; the list of Paths is copied as it is read
    assert float(rows["SampleTable (one buffer)"][2]) < 2 < float(rows["list of (Path, label), before"][2])
    assert "ImageNet listing, 20,000 lines; 2 forked workers" in result.stdout
    assert re.search(r"goals: ImageNet dataset from a listing [\d.]+ s \(<= 10 s: met\); COCO preflight [\d.]+ s "
                     r"\(<= 60 s: met\); per-worker growth [\d.]+ MiB \(<= 50 MiB: met\)", result.stdout)
    assert len((tmp_path / "imagenet" / "meta" / "train.txt").read_text().splitlines()) == 20000
    assert len(list((tmp_path / "coco" / "train2017").iterdir())) == 300
