"""A run killed with SIGKILL resumes from its last complete checkpoint and continues identically."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import BASELINE_CONFIG, PRETRAIN_TOOL, ROOT, tiny_options, tool_env

pytestmark = pytest.mark.slow


def command(work: Path, data_root: Path, *extra: str) -> list[str]:
    return [sys.executable, PRETRAIN_TOOL, BASELINE_CONFIG, "--work-dir", str(work), "--deterministic", *extra,
            "--cfg-options", *tiny_options(data_root, epochs=4), "log_processor.window_size=1"]


def losses_by_iter(work: Path) -> dict[int, float]:
    """Per-iteration training loss from every run (timestamp folder) in a work dir."""
    out = {}
    for scalars in sorted(work.glob("*/vis_data/scalars.json")):
        for line in scalars.read_text().splitlines():
            record = json.loads(line)
            if "loss" in record and "iter" in record:
                out[record["iter"]] = record["loss"]
    return out


def test_sigkill_then_resume_auto_matches_an_uninterrupted_run(tmp_path, tiny_data):
    env = tool_env()
    reference = tmp_path / "reference"
    done = subprocess.run(command(reference, tiny_data), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]

    work = tmp_path / "killed"
    process = subprocess.Popen(command(work, tiny_data), cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (work / "epoch_2.pth").exists():  # wait for a checkpoint mid-run, then kill hard
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (work / "epoch_4.pth").exists()
    latest = (work / "last_checkpoint").read_text().strip()
    torch.load(latest, weights_only=True)  # whatever "latest" says is complete

    resumed = subprocess.run(command(work, tiny_data, "--resume", "auto"), cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    start_epoch = int(Path(latest).stem.split("_")[1])
    assert f"resumed epoch: {start_epoch}, iter: {5 * start_epoch}" in resumed.stdout + resumed.stderr
    final = torch.load(work / "epoch_4.pth", weights_only=True)
    assert final["meta"]["iter"] == 20 and final["meta"]["epoch"] == 4

    expected, got = losses_by_iter(reference), losses_by_iter(work)
    after = [i for i in range(5 * start_epoch + 1, 21)]
    assert after and all(i in got for i in after)
    torch.testing.assert_close(torch.tensor([got[i] for i in after]), torch.tensor([expected[i] for i in after]),
                               rtol=1e-4, atol=1e-5)
    reference_weights = torch.load(reference / "epoch_4.pth", weights_only=True)["state_dict"]
    for key, value in final["state_dict"].items():
        torch.testing.assert_close(value, reference_weights[key], rtol=1e-4, atol=1e-5, msg=key)
