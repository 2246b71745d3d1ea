"""Runs killed with SIGKILL resume from their last complete checkpoint and continue identically.

Both training tools: start a run, kill it hard mid-epoch once a checkpoint is complete,
``--resume auto``, and compare the losses, learning rates and final weights with an uninterrupted
run of the same seed (``--deterministic``, one thread). The detection run loads its images in a
persistent worker, whose random state mmengine would not restore: its augmentation and proposal
sampling must still continue as in the uninterrupted run.
"""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest
import torch
from tooling import BASELINE_CONFIG, PRETRAIN, ROOT, tiny_options, tool_command, tool_env

from nst_det.reporting import SCALARS_GLOB, Segment, chain_segments, find_scalars

from det_fixtures import FPN_DISTILL, tiny_run_options

pytestmark = pytest.mark.slow


def scalars_by_iter(work: Path, key: str) -> dict[int, float]:
    """Training scalar ``key`` per iteration, the launches of a work dir chained as ``compare_runs`` does
    (a resumed launch replaces the killed one's lines from its first iteration on); ``{}`` before any log."""
    if not list(work.glob(SCALARS_GLOB)):
        return {}
    train, _, _ = chain_segments([Segment.read(path) for path in find_scalars(work)])
    return {int(record["iter"]): record[key] for record in train if key in record and "iter" in record}


def run(command: list[str]) -> str:
    done = subprocess.run(command, cwd=ROOT, env=tool_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


def run_killed_mid_epoch(command: list[str], work: Path, kill_after_iter: int) -> Path:
    """Start ``command`` and SIGKILL it once iteration ``kill_after_iter`` is logged and a checkpoint
    is complete; returns the checkpoint ``last_checkpoint`` names (it must load)."""
    process = subprocess.Popen(command, cwd=ROOT, env=tool_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not ((work / "last_checkpoint").exists() and kill_after_iter in scalars_by_iter(work, "loss")):
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline, f"iteration {kill_after_iter} not reached within 300 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    latest = Path((work / "last_checkpoint").read_text().strip())
    torch.load(latest, weights_only=True)
    return latest


def assert_continued_like_reference(work: Path, reference: Path, resumed_at: int, final: str, last_iter: int) -> None:
    """Losses and learning rates after ``resumed_at`` and the final weights match the reference run."""
    for key in ("loss", "lr"):
        expected, got = scalars_by_iter(reference, key), scalars_by_iter(work, key)
        after = list(range(resumed_at + 1, last_iter + 1))
        assert all(i in got for i in after), f"iterations logged: {sorted(got)}"
        torch.testing.assert_close(torch.tensor([got[i] for i in after]), torch.tensor([expected[i] for i in after]),
                                   rtol=1e-4, atol=1e-6,
                                   msg=lambda m, key=key: f"{key} after resuming at {resumed_at}: {m}")
    checkpoint = torch.load(work / final, weights_only=True)
    assert checkpoint["meta"]["iter"] == last_iter
    reference_weights = torch.load(reference / final, weights_only=True)["state_dict"]
    assert list(checkpoint["state_dict"]) == list(reference_weights)
    for key, value in checkpoint["state_dict"].items():
        torch.testing.assert_close(value, reference_weights[key], rtol=1e-4, atol=1e-5, msg=key)


def kill_resume_and_compare(command: Callable[..., list[str]], tmp_path: Path, iters_per_epoch: int,
                            kill_after_iter: int) -> str:
    """Run ``command`` (4 epochs) uninterrupted and killed after ``kill_after_iter``, resume the killed
    one, compare; returns the resumed run's log."""
    reference, work = tmp_path / "reference", tmp_path / "killed"
    run(command(reference))
    latest = run_killed_mid_epoch(command(work), work, kill_after_iter)
    assert not (work / "epoch_4.pth").exists()
    start_epoch = int(latest.stem.split("_")[1])

    log = run(command(work, "--resume", "auto"))
    assert f"resumed epoch: {start_epoch}, iter: {iters_per_epoch * start_epoch}" in log
    assert_continued_like_reference(work, reference, iters_per_epoch * start_epoch, "epoch_4.pth",
                                    last_iter=4 * iters_per_epoch)
    return log


def test_pretrain_sigkill_then_resume_auto_matches_an_uninterrupted_run(tmp_path, tiny_data):
    def command(work: Path, *extra: str) -> list[str]:  # 4 epochs of 5 iterations
        return tool_command(PRETRAIN, [BASELINE_CONFIG, "--work-dir", str(work), "--deterministic", *extra,
                                       "--cfg-options", *tiny_options(tiny_data, epochs=4),
                                       "log_processor.window_size=1"])

    kill_resume_and_compare(command, tmp_path, iters_per_epoch=5, kill_after_iter=12)  # in epoch 3


def test_train_det_sigkill_then_resume_auto_matches_an_uninterrupted_run(tmp_path, det_data, weight_files):
    def command(work: Path, *extra: str) -> list[str]:  # NST distillation, 4 epochs of 2 iterations
        options = tiny_run_options(det_data / "VOCdevkit", weight_files) + [
            "train_cfg.max_epochs=4", "train_cfg.val_interval=100", "default_hooks.checkpoint.max_keep_ckpts=4",
            "train_dataloader.num_workers=1", "train_dataloader.persistent_workers=True",
            "log_processor.window_size=1"]
        return tool_command("train_det.py", [FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py",
                                             "--work-dir", work, "--deterministic",
                                             *extra, "--cfg-options", *options])

    log = kill_resume_and_compare(command, tmp_path, iters_per_epoch=2, kill_after_iter=3)  # in epoch 2
    assert "loss_nst_p4" in log
