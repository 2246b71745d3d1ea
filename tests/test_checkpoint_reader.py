"""The one checkpoint reader: every file a user holds is read as data, and nothing in it ever runs.

Fast tests use files in the formats users have (torchvision state dicts, legacy and zip ``torch.save``
files with numpy values, mmrazor/nst_det distiller layouts) and a battery of malicious pickles at
every entry point of the tools. The ``slow`` tests use checkpoints written by stock mmengine's
``Runner`` (``tests/make_stock_checkpoints.py``): as a teacher, a resume point, and converter input.
"""
from __future__ import annotations

import collections
import pickle
import time

import numpy as np
import pytest
import torch
import torchvision
from checkpoint_entry_points import ENTRY_POINTS
from mmengine.runner.checkpoint import CheckpointLoader
from tooling import run_tool

from nst_det.engine.plain_data import convert_checkpoint
from nst_det.pretrain.classifiers import load_classifier_weights
from nst_det.utils import checkpoint as checkpoint_module
from nst_det.utils.checkpoint import read_checkpoint
from nst_det.utils.errors import NSTDetError
from nst_det.utils.weights import student_state_dict

from det_fixtures import DEMO, FPN_DISTILL, ROOT, TEACHER_CONFIG, build_model, tiny_run_options
from malicious_pickles import HOSTILE, PAYLOADS, RAW_PAYLOADS, payload_bytes, write_checkpoint

HOSTILE_REFUSAL = "which no checkpoint needs and an attack would use: refusing it (nothing in it was run)"


def _assert_one_clean_line(message: str) -> None:
    assert "\n" not in message and "\x1b" not in message, message
    assert "weights_only=False" not in message and "TORCH_FORCE" not in message, message


@pytest.mark.parametrize("pattern", [pytest.param(p, marks=pytest.mark.slow) if p == "subprocess.Popen" else p
                                     for p in sorted(PAYLOADS)])  # the Popen payload starts a process
def test_each_payload_really_runs_code_under_plain_pickle(pattern, tmp_path, monkeypatch):
    """The battery is real: ``pickle.loads`` of each payload creates its marker."""
    monkeypatch.syspath_prepend(str(tmp_path))
    marker = tmp_path / "marker"
    try:
        pickle.loads(payload_bytes(pattern, marker, tmp_path))
    except Exception:  # noqa: BLE001  some payloads fail after they ran (e.g. a bad magic number)
        pass
    deadline = time.monotonic() + 10  # subprocess.Popen returns before its child has run
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists()


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("pattern", sorted(PAYLOADS))
def test_malicious_checkpoints_never_run_at_any_entry_point(entry, pattern, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))  # an import, were one attempted, would find the module
    marker = tmp_path / "marker"
    path = write_checkpoint(tmp_path / "evil.pth", pattern, marker)
    try:
        ENTRY_POINTS[entry](path, tmp_path)
    except NSTDetError as exc:
        _assert_one_clean_line(str(exc))
        if pattern in HOSTILE:
            assert HOSTILE_REFUSAL in str(exc) and str(path) in str(exc)
    else:
        assert pattern not in HOSTILE, "a hostile checkpoint was accepted"
    assert not marker.exists()


@pytest.mark.parametrize("pattern", sorted(RAW_PAYLOADS))
def test_protocol_0_opcodes_are_restricted_too(pattern, tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "raw.pth"
    path.write_bytes(RAW_PAYLOADS[pattern](marker))
    with pytest.raises(NSTDetError, match=r"refers to os\.system, " + HOSTILE_REFUSAL.replace("(", r"\(")
                       .replace(")", r"\)")):
        read_checkpoint(path, what="teacher checkpoint")
    assert not marker.exists()


def test_a_payload_in_place_of_weights_is_refused(tmp_path):
    marker = tmp_path / "marker"
    path = write_checkpoint(tmp_path / "evil.pth", "getattr chain", marker, where="state_dict")
    with pytest.raises(NSTDetError, match=r"refers to pathlib\.Path, which no checkpoint needs"):
        read_checkpoint(path, what="backbone file")
    assert not marker.exists()


def test_resume_never_executes_the_config_text_a_checkpoint_carries(tmp_path):
    """mmengine's ``Runner.resume`` runs ``meta['config']`` as a Python config; its loader never sees it."""
    marker = tmp_path / "marker"
    torch.save({"state_dict": {"w": torch.ones(1)},
                "meta": {"epoch": 1, "iter": 2, "config": f"open({str(marker)!r}, 'w')\ngpu_ids = [0]\n"}},
               tmp_path / "plain.pth")
    checkpoint = CheckpointLoader.load_checkpoint(str(tmp_path / "plain.pth"))
    assert checkpoint["meta"] == {"epoch": 1, "iter": 2}
    assert "config" in read_checkpoint(tmp_path / "plain.pth")["meta"]  # kept where nothing executes it


# ----------------------------------------------------------------------------- formats users hold
def test_torchvision_state_dict_loads_as_it_is(tmp_path):
    model = torchvision.models.resnet18()
    torch.save(model.state_dict(), tmp_path / "resnet18.pth")
    loaded = read_checkpoint(tmp_path / "resnet18.pth")
    assert list(loaded) == list(model.state_dict())
    assert all(torch.equal(loaded[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("legacy_format", [False, True], ids=["zip", "legacy"])
def test_model_zoo_checkpoint_with_numpy_meta(legacy_format, tmp_path, monkeypatch):
    """mmdet 2.x / mmcv 1.x style: numpy values in meta, an optimizer, an unknown object; old and new formats."""
    logged = []
    monkeypatch.setattr(checkpoint_module.logger, "info", lambda message, *_, **__: logged.append(message))
    model = torchvision.models.resnet18()
    state_dict = model.state_dict()
    checkpoint = {"meta": {"epoch": 12, "CLASSES": ("car", "person"), "mean": np.array([123.675, 116.28]),
                           "seed": np.int64(42), "lr": np.float32(0.02), "dtype": np.dtype("float32"),
                           "env": collections.defaultdict(list, {"gpus": [0, 1]}), "hook_msgs": _Opaque()},
                  "state_dict": state_dict,
                  "optimizer": torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9).state_dict()}
    path = tmp_path / "zoo.pth"
    torch.save(checkpoint, path, _use_new_zipfile_serialization=not legacy_format)
    with pytest.raises((pickle.UnpicklingError, RuntimeError)):  # the legacy format: RuntimeError
        torch.load(path, weights_only=True)
    loaded = read_checkpoint(path, what="teacher checkpoint")
    assert loaded["meta"]["seed"] == np.int64(42) and isinstance(loaded["meta"]["seed"], np.int64)
    np.testing.assert_array_equal(loaded["meta"]["mean"], [123.675, 116.28])
    assert loaded["meta"]["dtype"] == np.float32 and loaded["meta"]["env"] == {"gpus": [0, 1]}
    assert "hook_msgs" not in loaded["meta"]
    assert getattr(loaded["state_dict"], "_metadata", None) is not None  # BatchNorm versions kept
    assert all(torch.equal(loaded["state_dict"][k], v) for k, v in state_dict.items())
    assert logged == [f"teacher checkpoint {path}: read as data; skipped 1 object(s) that are not data: "
                      f"1 test_checkpoint_reader._Opaque under meta (hook_msgs). To make the file loadable by "
                      f"stock tools on torch>=2.6: python tools/convert_checkpoint.py {path} OUT.pth"]
    load_classifier_weights(torchvision.models.resnet18(), path, "resnet18")  # the teacher entry point takes it

    convert_checkpoint(path, tmp_path / "plain.pth")
    plain = torch.load(tmp_path / "plain.pth", weights_only=True)
    assert plain["meta"]["seed"] == 42 and torch.equal(plain["meta"]["mean"], torch.tensor([123.675, 116.28],
                                                                                          dtype=torch.float64))
    assert plain["meta"]["CLASSES"] == ("car", "person") and plain["meta"]["dtype"] == "float32"
    assert all(torch.equal(plain["state_dict"][k], v) for k, v in state_dict.items())


class _Opaque:
    """A class a checkpoint names that the reader does not know (skipped, never constructed)."""

    def __init__(self) -> None:
        self.created = True


@pytest.mark.parametrize("layout, keys", [
    ("mmrazor", {"architecture.backbone.w": 1, "architecture.neck.w": 2, "teacher.backbone.w": 3,
                 "distiller.connectors.x": 4}),
    ("nst_det pretrain", {"student.conv1.weight": 1, "student.fc.weight": 2}),
    ("plain", {"backbone.w": 1}),
])
def test_student_only_keeps_the_student(layout, keys, tmp_path):
    state_dict = {k: torch.full((1,), float(v)) for k, v in keys.items()}
    student, note = student_state_dict(state_dict)
    expected = {"mmrazor": {"backbone.w": 1, "neck.w": 2}, "nst_det pretrain": {"conv1.weight": 1, "fc.weight": 2},
                "plain": {"backbone.w": 1}}[layout]
    assert {k: int(v) for k, v in student.items()} == expected, note
    torch.save({"state_dict": state_dict, "meta": {"epoch": 3}, "optimizer": {"state": {}}}, tmp_path / "in.pth")
    convert_checkpoint(tmp_path / "in.pth", tmp_path / "out.pth", student_only=True)
    out = torch.load(tmp_path / "out.pth", weights_only=True)
    assert set(out) == {"state_dict", "meta"} and set(out["state_dict"]) == set(expected)


def test_damaged_and_missing_files_get_one_clean_line(tmp_path):
    good = tmp_path / "good.pth"
    torch.save({"state_dict": torchvision.models.resnet18().state_dict(), "meta": {"x": np.float64(1)}}, good)
    (tmp_path / "truncated.pth").write_bytes(good.read_bytes()[:5000])
    (tmp_path / "empty.pth").write_bytes(b"")
    for name in ("truncated.pth", "empty.pth"):
        unreadable = r"is not a readable PyTorch checkpoint \(truncated or corrupt\?\)"
        with pytest.raises(NSTDetError, match=unreadable) as info:
            read_checkpoint(tmp_path / name, what="teacher checkpoint")
        _assert_one_clean_line(str(info.value))
    with pytest.raises(NSTDetError, match="missing.pth does not exist"):
        read_checkpoint(tmp_path / "missing.pth")
    with pytest.raises(NSTDetError, match="is not a file"):
        read_checkpoint(tmp_path)


# ----------------------------------------------------------------------------- stock mmengine checkpoints
@pytest.mark.slow
def test_stock_runner_checkpoint_is_read_as_data(stock, monkeypatch):
    logged = []
    monkeypatch.setattr(checkpoint_module.logger, "info", lambda message, *_, **__: logged.append(message))
    with pytest.raises(pickle.UnpicklingError):
        torch.load(stock["numpy_meta"], weights_only=True)  # what stock tools do on torch >= 2.6
    checkpoint = read_checkpoint(stock["numpy_meta"], what="teacher checkpoint")
    assert set(checkpoint) == {"meta", "state_dict", "message_hub", "optimizer", "param_schedulers"}
    assert list(checkpoint["state_dict"]) == list(build_model(TEACHER_CONFIG).state_dict())
    assert isinstance(checkpoint["meta"]["best_score"], np.float64) and checkpoint["meta"]["iter"] == 2
    assert checkpoint["message_hub"]["log_scalars"] == {} and "iter" in checkpoint["message_hub"]["runtime_info"]
    assert set(checkpoint["optimizer"]) == {"state", "param_groups"} and len(checkpoint["param_schedulers"]) == 2
    assert len(logged) == 1 and "10 mmengine.logging.history_buffer.HistoryBuffer under message_hub.log_scalars " \
                               "(train/lr, train/data_time, train/grad_norm, train/loss, ...)" in logged[0]


@pytest.mark.slow
def test_faster_rcnn_nst_config_takes_a_stock_r50_teacher(stock, weight_files):
    model = build_model(ROOT / "configs" / "faster_rcnn_nst.py", teacher_checkpoint=str(stock["r50_voc"]),
                        backbone_checkpoint=str(weight_files["resnet18"]))
    weights = read_checkpoint(stock["r50_voc"])["state_dict"]
    for name, value in model.teacher.state_dict().items():
        if name.startswith(("backbone.", "neck.")):
            assert torch.equal(value, weights[name]), name


@pytest.mark.slow
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_a_payload_nested_in_a_stock_checkpoint_is_refused_everywhere(entry, stock, tmp_path):
    with pytest.raises(NSTDetError, match=r"refers to posix\.system, " + "which no checkpoint needs"):
        ENTRY_POINTS[entry](stock["evil_nested"], tmp_path)
    assert not stock["marker"].exists()


def _ok(result) -> str:
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-5000:])
    return result.stdout + result.stderr


@pytest.mark.slow
def test_training_with_a_stock_teacher_checkpoint(stock, det_data, weight_files, tmp_path):
    options = [o for o in tiny_run_options(det_data / "VOCdevkit", weight_files)
               if not o.startswith("teacher_checkpoint=")]
    log = _ok(run_tool("train_det.py", [str(FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py"),
                                        "--work-dir", str(tmp_path), "--cfg-options", *options,
                                        f"teacher_checkpoint={stock['numpy_meta']}"]))
    assert "skipped 10 object(s) that are not data: 10 mmengine.logging.history_buffer.HistoryBuffer" in log
    assert "loss_nst_p2" in log and "rank 0: training finished" in log
    assert "pkg_resources" not in log


@pytest.mark.slow
def test_resuming_a_stock_mmengine_run(stock, det_data, weight_files, tmp_path):
    options = tiny_run_options(det_data / "VOCdevkit", weight_files) + [
        f"backbone_checkpoint={weight_files['resnet34']}", "train_cfg.max_epochs=2"]
    log = _ok(run_tool("train_det.py", [str(TEACHER_CONFIG), "--work-dir", str(tmp_path), "--resume",
                                        str(stock["epoch_1"]), "--cfg-options", *options]))
    assert "resuming at iteration 2 with the weights, optimizer and schedulers of the checkpoint; its message hub " \
           "history (values logged before) is not restored" in log
    assert "resumed epoch: 1, iter: 2" in log and "Epoch(train) [2][2/2]" in log
    assert torch.load(tmp_path / "epoch_2.pth", weights_only=True)["meta"]["iter"] == 4


@pytest.mark.slow
def test_convert_checkpoint_makes_stock_files_weights_only_readable(stock, tmp_path):
    out = tmp_path / "plain.pth"
    log = _ok(run_tool("convert_checkpoint.py", [str(stock["numpy_meta"]), str(out)]))
    assert f"wrote {out}" in log and "weights_only=True) reads it" in log
    plain = torch.load(out)  # torch's default (weights_only=True), as stock mmengine calls it
    original = read_checkpoint(stock["numpy_meta"])
    assert plain["meta"]["best_score"] == 0.25 and type(plain["meta"]["best_score"]) is float
    assert plain["message_hub"]["log_scalars"] == {} and plain["optimizer"]["param_groups"]
    assert all(torch.equal(plain["state_dict"][k], v) for k, v in original["state_dict"].items())


@pytest.mark.slow
@pytest.mark.parametrize("tool, args", [
    ("test_det.py", [str(DEMO / "faster-rcnn_r18_fpn_nst-backbone_8e_demo.py"), "{evil}", "--no-data-check",
                     "--work-dir", "{tmp}"]),
    ("export_backbone.py", ["{evil}", "{out}"]),
    ("convert_checkpoint.py", ["{evil}", "{out}"]),
])
def test_tools_refuse_a_malicious_checkpoint_in_one_line(tool, args, tmp_path):
    marker = tmp_path / "marker"
    evil = write_checkpoint(tmp_path / "evil.pth", "os.system", marker)
    result = run_tool(tool, [a.format(evil=evil, out=tmp_path / "out.pth", tmp=tmp_path) for a in args])
    assert result.returncode == 1, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "refers to posix.system, " + HOSTILE_REFUSAL in last
    assert not marker.exists() and not (tmp_path / "out.pth").exists()
