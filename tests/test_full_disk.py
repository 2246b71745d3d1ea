"""A work dir that is full, or fills up during training: refused before training, or stopped cleanly.

The file-system tests mount a small tmpfs in a private user namespace (``unshare -rm``: no root
needed where unprivileged user namespaces are enabled, as on common Linux hosts) and otherwise use
a file size limit (``RLIMIT_FSIZE``), which makes the kernel refuse a checkpoint write the same way.
"""
from __future__ import annotations

import io
import re
import resource
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from tooling import BASELINE_CONFIG, PRETRAIN, ROOT, tiny_options, tool_command, tool_env

from nst_det.utils.checkpoint import check_free_space, checkpoint_bytes
from nst_det.utils.errors import NSTDetError


def small_net() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3), torch.nn.BatchNorm2d(64), torch.nn.ReLU(),
                               torch.nn.Flatten(), torch.nn.Linear(64 * 6 * 6, 100))


@pytest.mark.parametrize("optimizer", [
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    lambda p: torch.optim.SGD(p, lr=0.1),
    lambda p: torch.optim.AdamW(p, lr=1e-3),
], ids=["sgd_momentum", "sgd", "adamw"])
def test_checkpoint_bytes_matches_a_saved_training_checkpoint(optimizer):
    model = small_net()
    opt = optimizer(model.parameters())
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    buffer = io.BytesIO()
    torch.save({"state_dict": model.state_dict(), "optimizer": opt.state_dict()}, buffer)
    weights, state = checkpoint_bytes(model, [opt])
    assert weights + state == pytest.approx(buffer.tell(), rel=0.05)


def test_check_free_space_reads_the_file_system(tmp_path):
    free = shutil.disk_usage(tmp_path).free
    check_free_space(tmp_path, 2**20)
    with pytest.raises(NSTDetError, match=rf"work dir {tmp_path} has \d+ MiB free, but one checkpoint of this run "
                                          r"needs about \d+ MiB: free some space or pass another --work-dir"):
        check_free_space(tmp_path, free + 2**30)


def pretrain_command(work: Path, data: Path, *extra: str) -> list[str]:
    """The demo R-18 baseline (AdamW) on tiny data, 2 epochs: checkpoints of ~128 MiB."""
    return tool_command(PRETRAIN, [BASELINE_CONFIG, "--work-dir", str(work), *extra,
                                   "--cfg-options", *tiny_options(data, epochs=2)])


def limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2**20, 64 * 2**20))  # Python ignores SIGXFSZ


@pytest.mark.slow
def test_a_checkpoint_write_the_kernel_refuses_stops_the_run_cleanly(tmp_path, tiny_data):
    work = tmp_path / "work"
    result = subprocess.run(pretrain_command(work, tiny_data), cwd=ROOT, env=tool_env(), capture_output=True,
                            text=True, timeout=600, preexec_fn=limit_file_size)
    assert result.returncode == 1, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot write {work / 'epoch_1.pth'} (")
    assert "File too large; epoch_1.pth was left as it was. Training stopped; " \
           "last complete checkpoint: none written yet" in last
    assert "Epoch(train) [1][5/5]" in result.stdout + result.stderr  # it failed at the checkpoint, not before
    assert not list(work.glob("*.pth")) and not list(work.glob(".*.tmp")) and not (work / "last_checkpoint").exists()


def user_namespace_tmpfs() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


needs_tmpfs = pytest.mark.skipif(not user_namespace_tmpfs(),
                                 reason="cannot mount a tmpfs in an unprivileged user namespace here")


def in_small_tmpfs(work: Path, size_mib: int, script: str, out: Path) -> None:
    """Run ``script`` (bash) with ``$WORK`` a fresh tmpfs of ``size_mib`` and ``$OUT`` a normal folder."""
    work.mkdir()
    out.mkdir()
    env = {**tool_env(), "WORK": str(work), "OUT": str(out), "SIZE": f"{size_mib}m"}
    done = subprocess.run(["unshare", "-rm", "bash", "-c", 'mount -t tmpfs -o size="$SIZE" tmpfs "$WORK" && ' + script],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
@needs_tmpfs
def test_a_work_dir_too_small_for_one_checkpoint_is_refused_before_training(tmp_path, tiny_data):
    work, out = tmp_path / "work", tmp_path / "out"
    command = " ".join(f"'{a}'" for a in pretrain_command(work, tiny_data))
    in_small_tmpfs(work, 48, f'{command} > "$OUT/log" 2>&1; echo $? > "$OUT/rc"; ls -A "$WORK" > "$OUT/ls"', out)
    log = (out / "log").read_text()
    assert (out / "rc").read_text().strip() == "1", log[-3000:]
    message = re.fullmatch(rf"error: work dir {re.escape(str(work))} has 4\d MiB free, but one checkpoint of this run "
                           r"\(weights (\d+) MiB \+ optimizer state (\d+) MiB\) and logs needs about (\d+) MiB: "
                           r"free some space or pass another --work-dir", log.strip().splitlines()[-1])
    assert message, log[-1000:]
    weights, state, needed = map(int, message.groups())
    assert 40 <= weights <= 50 and 2 * weights - 1 <= state <= 2 * weights + 1 and needed > 1.1 * (weights + state)
    assert "Epoch(train)" not in log
    assert ".pth" not in (out / "ls").read_text()


@pytest.mark.slow
@needs_tmpfs
def test_a_disk_that_fills_up_stops_at_the_checkpoint_and_the_run_resumes_once_there_is_space(tmp_path, tiny_data):
    # 200 MiB: the check before training passes (173 MiB), epoch_1.pth (128 MiB) fits, epoch_2.pth does not
    work, out = tmp_path / "work", tmp_path / "out"
    command = " ".join(f"'{a}'" for a in pretrain_command(work, tiny_data))
    in_small_tmpfs(work, 200, f'''
        {command} > "$OUT/full.log" 2>&1; echo $? > "$OUT/full.rc"; ls -A "$WORK" > "$OUT/full.ls"
        cat "$WORK/last_checkpoint" > "$OUT/last"
        mount -o remount,size=1g "$WORK"
        {command} --resume auto > "$OUT/resumed.log" 2>&1; echo $? > "$OUT/resumed.rc"
        ls -A "$WORK" > "$OUT/resumed.ls"
        ''', out)
    log = (out / "full.log").read_text()
    assert (out / "full.rc").read_text().strip() == "1", log[-3000:]
    assert log.strip().splitlines()[-1] == (
        f"error: cannot write {work / 'epoch_2.pth'} ({log.split('epoch_2.pth (')[1].split(')')[0]}): No space left "
        f"on device; epoch_2.pth was left as it was. Training stopped; last complete checkpoint: "
        f"{work / 'epoch_1.pth'}")
    assert (out / "last").read_text().strip() == str(work / "epoch_1.pth")
    files = (out / "full.ls").read_text().split()
    assert "epoch_1.pth" in files and "epoch_2.pth" not in files and not [f for f in files if f.endswith(".tmp")]

    resumed = (out / "resumed.log").read_text()
    assert (out / "resumed.rc").read_text().strip() == "0", resumed[-3000:]
    assert "resumed epoch: 1, iter: 5" in resumed and "Epoch(train) [2][5/5]" in resumed
    assert "epoch_2.pth" in (out / "resumed.ls").read_text().split()
