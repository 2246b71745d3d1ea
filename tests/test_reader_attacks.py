"""The checkpoint reader as a security boundary: hostile files built by hand (``tests/pickle_asm.py``).

Every attack of ``tests/reader_attacks.py`` (TorchScript, containers with attributes, BUILD on
objects in use, resource exhaustion, hostile names and escaping markers) must be refused in one line
or loaded safely, nothing in it run. The fast tests read the files that cannot exhaust the test
process in-process; the slow ones read every file at every entry point of the tools in a subprocess
under a time limit and an address-space limit (``tests/reader_harness.py``), run a real TorchScript
payload and an attack on ``--resume`` through the tools, and show each attack is real where plain
torch would fall for it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from checkpoint_entry_points import ENTRY_POINTS, TEACHER_CONFIG, TOOL_COMMANDS
from reader_attacks import ATTACKS
from tooling import ROOT, run_tool, tool_env

from nst_det.utils.checkpoint import read_checkpoint
from nst_det.utils.errors import NSTDetError

from det_fixtures import tiny_run_options

IN_PROCESS = sorted(name for name, attack in ATTACKS.items() if not attack.resources)


def _one_clean_line(message: str) -> None:
    assert "\n" not in message and "\x1b" not in message and "Traceback" not in message, message
    assert "weights_only=False" not in message and "TORCH_FORCE" not in message, message


@pytest.mark.parametrize("name", IN_PROCESS)
def test_attack_is_refused_or_loaded_safely(name, tmp_path):
    attack, marker = ATTACKS[name], tmp_path / "marker"
    path = attack.make(tmp_path, marker)
    try:
        result = read_checkpoint(path, what="teacher checkpoint")
    except NSTDetError as exc:
        assert attack.expect == "refused", f"refused, expected to load: {exc}"
        _one_clean_line(str(exc))
        assert attack.fragment in str(exc) and str(path) in str(exc)
    else:
        assert attack.expect == "loaded", "a hostile file was accepted"
        attack.check(result)
    assert not marker.exists()


def test_every_attack_class_is_covered():
    assert {a.group for a in ATTACKS.values()} == {"torchscript", "attributes", "rebuild", "resources", "names"}
    assert {a.expect for a in ATTACKS.values()} == {"refused", "loaded"}


def test_attribute_shadowing_is_real_under_torchs_own_weights_only_loader(tmp_path):
    """What stock tools do on torch >= 2.6 (``weights_only=True``) returns the shadowed methods."""
    path = ATTACKS["OrderedDict get=builtins.set"].make(tmp_path, tmp_path / "marker")
    loaded = torch.load(path, weights_only=True)
    assert loaded.get("meta") == {"m", "e", "t", "a"}  # a caller asking for 'meta' gets set('meta')
    ours = read_checkpoint(path)
    assert ours.get("meta") == {"config": ours["meta"]["config"]}


@pytest.fixture(scope="module")
def battery(tmp_path_factory) -> tuple[Path, list[dict]]:
    """Every attack file, and a real TorchScript payload, with their marker paths."""
    folder = tmp_path_factory.mktemp("battery")
    manifest = []
    for index, (name, attack) in enumerate(ATTACKS.items()):
        marker = folder / f"marker_{index}"
        manifest.append({"name": name, "path": str(attack.make(folder, marker)), "marker": str(marker)})
    script, marker = folder / "torchscript_payload.pt", folder / "marker_torchscript"
    made = subprocess.run([sys.executable, str(ROOT / "tests" / "make_torchscript_payload.py"), str(script),
                           str(marker)], capture_output=True, text=True, timeout=300, env=tool_env())
    assert made.returncode == 0 and not marker.exists(), made.stderr[-2000:]
    manifest.append({"name": "real TorchScript payload (aten::save in __setstate__)", "path": str(script),
                     "marker": str(marker)})
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder, manifest


@pytest.mark.slow
def test_the_torchscript_payload_is_real(battery):
    """``torch.jit.load`` (and ``torch.load``, which hands TorchScript archives to it) runs its code."""
    item = battery[1][-1]
    code = "import sys, torch; torch.jit.load(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, item["path"]], capture_output=True, timeout=300, env=tool_env())
    assert Path(item["marker"]).exists()
    os.remove(item["marker"])


@pytest.mark.slow
def test_every_attack_at_every_entry_point_under_limits(battery):
    """Each file at each entry point, in a subprocess with 60 s per read and 3 GiB of address space more
    than the imports need: refused in one line or loaded safely; no marker, signal, traceback or overrun.
    ``TORCH_FORCE_WEIGHTS_ONLY_LOAD=1`` changes nothing (torch's loader is never used)."""
    folder, manifest = battery
    results = folder / "results.jsonl"
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "reader_harness.py"), str(folder / "manifest.json"),
                          str(results)], capture_output=True, text=True, timeout=1500,
                         env={**tool_env(), "TORCH_FORCE_WEIGHTS_ONLY_LOAD": "1"})
    records = [json.loads(line) for line in results.read_text().splitlines()]
    last = next((r["begin"] for r in reversed(records) if "begin" in r), None)
    assert run.returncode == 0 and records[-1] == {"done": True}, (run.returncode, last, run.stderr[-3000:])
    outcomes = [r for r in records if "outcome" in r]
    assert len(outcomes) == len(manifest) * (len(ENTRY_POINTS) + len(TOOL_COMMANDS))
    for record in outcomes:
        where = f"{record['name']} at {record['entry']}"
        assert record["outcome"] in ("loaded", "refused"), (where, record["outcome"], record["message"])
        assert not record["marker"] and not record["check"], (where, record["check"])
        if record["outcome"] == "refused":
            _one_clean_line(record["message"])
        attack = ATTACKS.get(record["name"])
        if record["entry"] == "read_checkpoint":
            expected = attack.expect if attack else "refused"
            assert record["outcome"] == expected, (where, record["message"])
            assert not attack or attack.fragment in record["message"], (where, record["message"])


@pytest.mark.slow
def test_resume_from_a_checkpoint_with_shadowed_methods_runs_nothing(det_data, weight_files, tmp_path):
    """The attack that ran code through ``train_det.py --resume``: a real resume checkpoint re-saved as an
    OrderedDict whose ``get`` is ``builtins.set`` and whose ``meta['config']`` (which mmengine's resume
    executes) creates a file. Training resumes; the file is never created."""
    options = tiny_run_options(det_data / "VOCdevkit", weight_files) + [
        f"backbone_checkpoint={weight_files['resnet34']}"]
    first = run_tool("train_det.py", [str(TEACHER_CONFIG), "--work-dir", str(tmp_path / "run"), "--cfg-options",
                                      *options, "train_cfg.max_epochs=1"])
    assert first.returncode == 0, first.stderr[-3000:]
    marker = tmp_path / "marker"
    checkpoint = OrderedDict(read_checkpoint(tmp_path / "run" / "epoch_1.pth"))
    checkpoint["meta"] = {**checkpoint["meta"], "config": f"open({str(marker)!r}, 'w').close()\ngpu_ids = [0]\n"}
    checkpoint.get = set  # pickled as BUILD {'get': builtins.set}
    evil = tmp_path / "evil.pth"
    torch.save(checkpoint, evil)
    assert torch.load(evil, weights_only=True).get("meta") == set("meta")  # what the attack relies on
    resumed = run_tool("train_det.py", [str(TEACHER_CONFIG), "--work-dir", str(tmp_path / "resumed"), "--resume",
                                        str(evil), "--cfg-options", *options, "train_cfg.max_epochs=2"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed epoch: 1" in resumed.stdout + resumed.stderr and not marker.exists()



def test_the_backbone_check_and_pretrained_init_see_the_same_weights(tmp_path):
    """A backbone file whose ``values``/``get`` the file re-points (BUILD on its OrderedDict): the
    check and mmengine's ``Pretrained`` init both read it through the reader, so they see one set of weights."""
    from checkpoint_entry_points import backbone_with_file

    from nst_det.det.weights import check_backbone_file

    from det_fixtures import backbone_state_dict

    weights = OrderedDict(backbone_state_dict("resnet18"))
    weights.values, weights.get = list, set  # pickled as BUILD {"values": builtins.list, "get": builtins.set}
    path = tmp_path / "backbone.pth"
    torch.save(weights, path)
    backbone = backbone_with_file(path)
    assert check_backbone_file(backbone) == str(path)
    backbone.init_weights()
    loaded = backbone.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in weights.items() if k in loaded) and "conv1.weight" in loaded
