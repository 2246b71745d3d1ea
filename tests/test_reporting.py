"""tools/compare_runs.py and nst_det.reporting on synthetic work dirs (scalars.json + sidecars)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from PIL import Image
from tooling import run_tool

from nst_det.engine.cli import run_cli
from nst_det.reporting import chain_segments, find_scalars, format_table, load_run, read_scalars, summarize
from nst_det.utils.errors import NSTDetError

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "compare_runs.py"
ITERS_PER_EPOCH = 10


def _load_tool():
    spec = importlib.util.spec_from_file_location("compare_runs", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compare_runs = _load_tool()


def train_lines(epochs: range, extra: Optional[dict] = None, start_loss: float = 2.0, log_every: int = 5) -> list[dict]:
    """Training lines every ``log_every`` iterations of the given epochs; ``loss`` = ``loss_cls`` + extras."""
    lines = []
    for epoch in epochs:
        for it in range((epoch - 1) * ITERS_PER_EPOCH + log_every, epoch * ITERS_PER_EPOCH + 1, log_every):
            loss_cls = start_loss / (1 + 0.1 * it)
            line = {"lr": 0.01, "data_time": 0.01, "loss_cls": loss_cls, "time": 0.2,
                    "epoch": epoch, "iter": it, "step": it}
            line.update(extra or {})
            line["loss"] = loss_cls + sum((extra or {}).values())
            lines.append(line)
    return lines


def val_lines(values: dict[int, float], key: str = "accuracy/top1") -> list[dict]:
    return [{key: v, "accuracy/top5": 100.0, "data_time": 0.01, "time": 0.1, "step": e} for e, v in values.items()]


def write_launch(work_dir: Path, stamp: str, lines: list[dict], tail: str = "") -> Path:
    path = work_dir / stamp / "vis_data" / "scalars.json"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + tail)
    return path


def sidecar(arch="resnet18", teacher=None, taps=(), nst=None, kd=None, val=None) -> dict:
    return dict(arch=arch, num_classes=5, teacher=dict(arch=teacher, checkpoint="t.pth") if teacher else None,
                taps=[list(t) for t in taps], nst=nst, kd=kd, epochs=4, iters=40, val=val or {},
                teacher_val={"teacher/top1": 91.25, "teacher/top5": 100.0} if teacher else None)


def make_run(root: Path, name: str, values: dict[int, float], info: Optional[dict], extra: Optional[dict] = None,
             start_loss: float = 2.0) -> Path:
    work_dir = root / name
    lines = []
    for epoch in range(1, max(values) + 1):
        lines += train_lines(range(epoch, epoch + 1), extra, start_loss)
        if epoch in values:
            lines += val_lines({epoch: values[epoch]})
    write_launch(work_dir, "20260101_000000", lines)
    if info is not None:
        (work_dir / f"backbone_{info['arch']}.json").write_text(json.dumps(info))
        (work_dir / f"classifier_{info['arch']}.json").write_text(json.dumps(info))
    return work_dir


NST = dict(kernel="poly", loss_weight=50.0)
KD = dict(temperature=4.0, loss_weight=1.0)
TAPS = [("layer4.1.relu:input", "layer4.2.relu:input")]


@pytest.fixture()
def runs(tmp_path) -> dict[str, Path]:
    return {
        "baseline": make_run(tmp_path, "baseline", {2: 50.0, 4: 60.0}, sidecar()),
        "kd": make_run(tmp_path, "kd", {2: 55.0, 4: 61.5}, sidecar(teacher="resnet50", kd=KD), {"loss_kd": 0.5}),
        "nst": make_run(tmp_path, "nst", {2: 72.0, 4: 68.0}, sidecar(teacher="resnet50", taps=TAPS, nst=NST),
                        {"loss_nst_layer4_1_relu_in": 0.25}),
        "kd_nst": make_run(tmp_path, "kd_nst", {2: 40.0, 4: 58.0},
                           sidecar(teacher="resnet50", taps=TAPS, nst=NST, kd=KD),
                           {"loss_kd": 0.5, "loss_nst_layer4_1_relu_in": 0.25}),
    }


# ----------------------------------------------------------------------------- table values
def test_summary_values_and_methods(runs):
    loaded = [load_run(runs[k]) for k in ("baseline", "kd", "nst", "kd_nst")]
    rows = summarize(loaded, "accuracy/top1")
    assert [r.method for r in rows] == ["CE", "KD", "NST", "KD+NST"]
    assert [r.teacher for r in rows] == ["—", "resnet50", "resnet50", "resnet50"]
    assert [r.teacher_metric for r in rows] == [None, 91.25, 91.25, 91.25]
    assert all(r.student == "resnet18" for r in rows)
    # final values: NST's 72.0 at epoch 2 is not picked (the validation split is the test set)
    assert [r.final for r in rows] == [60.0, 61.5, 68.0, 58.0]
    assert [r.delta for r in rows] == pytest.approx([0.0, 1.5, 8.0, -2.0])
    assert all(r.selected is None and r.selected_step is None for r in rows)
    assert rows[2].taps == "layer4.1.relu:input←layer4.2.relu:input" and rows[2].weight == "50"
    assert rows[0].taps == rows[1].taps == "—"
    last_cls = 2.0 / (1 + 0.1 * 40)
    assert rows[0].loss == pytest.approx(last_cls) and rows[0].loss_cls == pytest.approx(last_cls)
    assert rows[3].loss == pytest.approx(last_cls + 0.75)


def test_cli_table_plain_and_markdown(runs, tmp_path, capsys):
    dirs = [str(runs[k]) for k in ("baseline", "nst")]
    assert run_cli(compare_runs.main, dirs + ["--names", "base", "nst"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["run", "student", "teacher", "(accuracy/top1)", "method"]
    assert "final accuracy/top1" in lines[0] and "best" not in lines[0]
    nst_row = next(line for line in lines if line.startswith("nst "))
    assert "68.00" in nst_row and "+8.00" in nst_row and "72.00" not in nst_row
    assert " NST " in nst_row and "resnet50 (91.25)" in nst_row
    base_row = next(line for line in lines if line.startswith("base "))
    assert " CE " in base_row and base_row.count("ref") == 1

    assert run_cli(compare_runs.main, dirs + ["--markdown", "--metric", "accuracy/top5"]) == 0
    md = capsys.readouterr().out.strip().splitlines()
    assert md[0].startswith("| run | student |") and md[1].startswith("|---|")
    cells = [c.strip() for c in md[3].strip("|").split("|")]
    assert cells[0] == "nst" and cells[2] == "resnet50 (100.00)" and cells[6] == "100.00" and cells[7] == "+0.00"
    assert md[0].split(" | ")[2] == "teacher (accuracy/top5)"


def test_selection_on_a_held_out_metric_is_labelled_and_never_on_the_reported_one(tmp_path, capsys):
    held_out = {"baseline": {1: 10.0, 2: 30.0, 3: 20.0}, "nst": {1: 5.0, 2: 6.0, 3: 40.0}}
    test = {"baseline": {1: 50.0, 2: 55.0, 3: 60.0}, "nst": {1: 70.0, 2: 75.0, 3: 65.0}}
    dirs = []
    for name in ("baseline", "nst"):
        lines = []
        for epoch in (1, 2, 3):
            lines += train_lines(range(epoch, epoch + 1))
            lines.append({"accuracy/top1": test[name][epoch], "heldout/top1": held_out[name][epoch], "step": epoch})
        write_launch(tmp_path / name, "20260101_000000", lines)
        dirs.append(str(tmp_path / name))
    rows = summarize([load_run(d) for d in dirs], "accuracy/top1", select_on="heldout/top1")
    assert [(r.final, r.selected, r.selected_step) for r in rows] == [(60.0, 55.0, 2), (65.0, 65.0, 3)]
    assert rows[1].delta == pytest.approx(5.0) and rows[1].delta_selected == pytest.approx(10.0)
    lower = summarize([load_run(d) for d in dirs], "accuracy/top1", select_on="heldout/top1", higher_is_better=False)
    assert [(r.selected, r.selected_step) for r in lower] == [(50.0, 1), (70.0, 1)]

    assert run_cli(compare_runs.main, dirs + ["--select-on", "heldout/top1"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "accuracy/top1 at best held-out heldout/top1 (@ep)" in header and "final accuracy/top1" in header
    assert run_cli(compare_runs.main, dirs + ["--select-on", "accuracy/top1"]) == 1
    assert "picks on the test set" in capsys.readouterr().err
    assert run_cli(compare_runs.main, dirs + ["--select-on", "val2/top1"]) == 1
    assert "held-out metric 'val2/top1' is not logged" in capsys.readouterr().err


def test_plot_png_is_written_and_decodable(runs, tmp_path, capsys):
    out = tmp_path / "plots" / "curves.png"
    dirs = [str(runs[k]) for k in ("baseline", "kd", "nst", "kd_nst")]
    assert run_cli(compare_runs.main, dirs + ["--plot", str(out)]) == 0
    with Image.open(out) as image:
        image.verify()
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 800 and image.height > 300
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.std() > 10  # not a blank canvas
    assert f"curves written to {out}" in capsys.readouterr().out


# ----------------------------------------------------------------------------- launches
def test_resumed_launches_are_chained(tmp_path):
    work_dir = tmp_path / "resumed"
    # launch 1: epochs 1-3, validated every epoch, killed during epoch 3 after its validation
    write_launch(work_dir, "20260101_000000", train_lines(range(1, 4)) + val_lines({1: 10.0, 2: 20.0, 3: 99.0}))
    # launch 2: resumed from the epoch-2 checkpoint, re-runs epoch 3
    write_launch(work_dir, "20260101_010000", train_lines(range(3, 5)) + val_lines({3: 30.0, 4: 40.0}))
    run = load_run(work_dir)
    steps, values = run.series("accuracy/top1")
    assert steps == [1, 2, 3, 4] and values == [10.0, 20.0, 30.0, 40.0]
    train_steps, _ = run.series("loss_cls", "train")
    assert train_steps == list(range(5, 41, 5))
    assert len(run.scalars) == 2


def test_repeated_launch_replaces_the_earlier_one(tmp_path):
    work_dir = tmp_path / "repeated"
    write_launch(work_dir, "20260101_000000", train_lines(range(1, 3)) + val_lines({2: 90.0}))
    write_launch(work_dir, "20260102_000000", train_lines(range(1, 3), start_loss=5.0) + val_lines({2: 33.0}))
    write_launch(work_dir, "20260103_000000", [])  # a launch that died at start-up
    run = load_run(work_dir)
    assert run.series("accuracy/top1") == ([2.0], [33.0])
    assert run.series("loss_cls", "train")[1][0] == pytest.approx(5.0 / 1.5)
    assert run.scalars == [work_dir / "20260102_000000" / "vis_data" / "scalars.json"]
    assert find_scalars(work_dir)[0].parent.parent.name == "20260101_000000"


def test_chain_segments_iteration_based(tmp_path):
    from nst_det.reporting import Segment
    lines_a = [{"loss": 1.0, "loss_cls": 1.0, "iter": i, "step": i} for i in (50, 100, 150)]
    lines_a += [{"pascal_voc/mAP": 0.3, "step": 100}, {"pascal_voc/mAP": 0.9, "step": 150}]
    lines_b = [{"loss": 0.5, "iter": i, "step": i} for i in (150, 200)] + [{"pascal_voc/mAP": 0.5, "step": 200}]
    train, val, _ = chain_segments([Segment(Path("a"), lines_a[:3], lines_a[3:]),
                                    Segment(Path("b"), lines_b[:2], lines_b[2:])])
    assert [r["step"] for r in train] == [50, 100, 150, 200]
    assert [(r["step"], r["pascal_voc/mAP"]) for r in val] == [(100, 0.3), (200, 0.5)]


# ----------------------------------------------------------------------------- without sidecars
def test_run_in_progress_and_detection_dirs_without_sidecar(runs, tmp_path, capsys):
    in_progress = make_run(tmp_path, "nst_running", {2: 70.0}, None, {"loss_nst_layer4_1_relu_in": 0.3})
    det = tmp_path / "det_nst"
    lines = [{"loss": 1.0, "loss_cls": 0.5, "loss_nst_p2": 0.1, "loss_nst_p3": 0.1, "iter": i, "step": i}
             for i in (50, 100)]
    write_launch(det, "20260101_000000", lines + [{"pascal_voc/mAP": 0.42, "step": 100}])
    (det / "20260101_000000" / "vis_data" / "config.py").write_text("model = dict(type='NSTDistillDetector')\n")
    rows = summarize([load_run(runs["baseline"]), load_run(in_progress)])
    assert rows[1].method == "NST*" and rows[1].student == "—" and rows[1].teacher == "—"
    assert rows[1].taps == "layer4_1_relu_in" and rows[1].final == 70.0 and rows[1].delta == pytest.approx(10.0)
    assert "* no export sidecar" in format_table(rows, "accuracy/top1")

    assert run_cli(compare_runs.main, [str(det), "--metric", "pascal_voc/mAP"]) == 0
    out = capsys.readouterr().out
    assert "det_nst" in out and "NST*" in out and "p2, p3" in out and "0.4200" in out
    det_run = load_run(det)
    assert not det_run.by_epoch and summarize([det_run], "pascal_voc/mAP")[0].method == "NST*"


def core_record(losses: list, taps: list, kd: Optional[dict] = None) -> dict:
    """What DistillCore.record() writes (nst_det/distill/core.py)."""
    return dict(losses=losses, kd=kd, taps=[dict(student=s, teacher=t, name=n, weight=w) for s, t, n, w in taps],
                warmup_iters=0, adapters=[])


def test_a_run_in_progress_reads_its_setup_from_distill_json(runs, tmp_path):
    running = make_run(tmp_path, "kd_nst_running", {2: 66.0}, None,
                       {"loss_kd": 0.4, "loss_nst_layer4_1_relu_in": 0.3})
    record = core_record([dict(kind="nst", type="NSTLoss", loss_weight=25.0, kernel="poly")],
                         [("layer4.1.relu:input", "layer4.2.relu:input", "layer4_1_relu_in", 1.0)],
                         kd=dict(kind="kd", type="KDLoss", temperature=4.0, loss_weight=1.0))
    (running / "distill.json").write_text(json.dumps(dict(student="resnet18", teacher="resnet34", distill=record)))
    run = load_run(running)
    assert run.setup_source == "record"
    row = summarize([load_run(runs["baseline"]), run])[1]
    assert (row.student, row.teacher, row.method) == ("resnet18", "resnet34", "KD+NST")
    assert (row.taps, row.weight) == ("layer4.1.relu:input←layer4.2.relu:input", "25")
    assert row.final == 66.0 and row.delta == pytest.approx(6.0)
    assert "*" not in format_table([row], "accuracy/top1")


def test_detection_runs_show_their_method_networks_and_weights_from_distill_json(tmp_path, capsys):
    """Every FPN method of the comparison, as the core records it: no "?" weight, the networks by name."""
    methods = {"nst": dict(type="NSTLoss", loss_weight=50.0, kernel="poly"),
               "mse": dict(type="MSELoss", loss_weight=1.0), "pkd": dict(type="PKDLoss", loss_weight=6.0),
               "cwd": dict(type="CWDLoss", tau=1.0, loss_weight=10.0)}
    dirs = []
    for kind, loss in methods.items():
        work = tmp_path / f"det_{kind}"
        lines = [{"loss": 1.0, "loss_cls": 0.5, f"loss_{kind}_p2": 0.1, f"loss_{kind}_p3": 0.1, "iter": i, "step": i}
                 for i in (50, 100)]
        write_launch(work, "20260101_000000", lines + [{"pascal_voc/mAP": 0.42, "step": 100}])
        weights = (1.0, 0.5) if kind == "pkd" else (1.0, 1.0)
        record = core_record([dict(kind=kind, **loss)],
                             [("p2", "p2", "p2", weights[0]), ("p3", "p3", "p3", weights[1])])
        (work / "distill.json").write_text(json.dumps(dict(student="FasterRCNN (ResNet-18)",
                                                           teacher="FasterRCNN (ResNet-34)", distill=record)))
        dirs.append(work)
    rows = summarize([load_run(d) for d in dirs], "pascal_voc/mAP")
    assert [r.method for r in rows] == ["NST", "MSE", "PKD", "CWD"]
    assert [r.weight for r in rows] == ["50", "1", "6 × p2 1, p3 0.5", "10 (τ 1)"]
    assert {r.taps for r in rows} == {"p2, p3"}
    assert {(r.student, r.teacher) for r in rows} == {("FasterRCNN (ResNet-18)", "FasterRCNN (ResNet-34)")}
    assert run_cli(compare_runs.main, [str(d) for d in dirs] + ["--metric", "pascal_voc/mAP"]) == 0
    out = capsys.readouterr().out
    assert "?" not in out and "*" not in out and " CWD " in out


def test_two_feature_losses_are_labelled_together(tmp_path):
    work = make_run(tmp_path, "at_nst", {2: 61.0}, None, {"loss_at_layer4": 0.2, "loss_nst_layer4": 0.3})
    record = core_record([dict(kind="at", type="ATLoss", loss_weight=1000.0),
                          dict(kind="nst", type="NSTLoss", loss_weight=50.0, kernel="gaussian")],
                         [("layer4", "layer4", "layer4", 1.0)])
    (work / "distill.json").write_text(json.dumps(dict(student="resnet18", teacher="resnet101", distill=record)))
    row = summarize([load_run(work)])[0]
    assert (row.method, row.taps, row.weight) == ("AT+NST", "layer4", "at 1000, nst 50 (gaussian)")
    (work / "distill.json").unlink()  # a work dir from before the record: inferred from the logged names
    row = summarize([load_run(work)])[0]
    assert (row.method, row.taps, row.weight) == ("AT+NST*", "layer4", "?")


def test_truncated_last_line_is_skipped_but_bad_middle_line_is_an_error(tmp_path):
    good = write_launch(tmp_path / "a", "20260101_000000", train_lines(range(1, 2)), tail='{"loss": 0.')
    assert len(read_scalars(good)) == 2
    bad = write_launch(tmp_path / "b", "20260101_000000", [], tail='{"loss": 1}\nnot json\n{"loss": 2}\n')
    with pytest.raises(NSTDetError, match=r"scalars\.json:2 is not a JSON object"):
        read_scalars(bad)


# ----------------------------------------------------------------------------- errors
def test_errors(runs, tmp_path, capsys):
    cases = [
        ([str(tmp_path / "missing")], "does not exist"),
        ([str(runs["baseline"] / "backbone_resnet18.json")], "is not a directory"),
        ([str(tmp_path / "empty")], "has no */vis_data/scalars.json"),
        ([str(runs["baseline"]), "--metric", "coco/bbox_mAP"], "metric 'coco/bbox_mAP' is not logged"),
        ([str(runs["baseline"]), str(runs["nst"]), "--names", "only-one"], "--names gives 1 names for 2"),
        ([str(runs["baseline"]), "--plot", str(tmp_path / "curves.pdf")], "ending in .png"),
    ]
    (tmp_path / "empty").mkdir()
    for argv, message in cases:
        assert run_cli(compare_runs.main, argv) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1, err
    with pytest.raises(NSTDetError, match=str(tmp_path / "missing")):
        load_run(tmp_path / "missing")


@pytest.mark.slow
def test_cli_subprocess_exit_code(tmp_path):
    proc = run_tool(TOOL, [tmp_path / "nope"])
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: work dir {tmp_path / 'nope'} does not exist"
