"""One preflight for every tool that builds a Runner: what is checked and applied before it is built.

mmengine meets a bad work dir, a damaged checkpoint or a missing image deep inside a run (after the
model is built, sometimes an epoch in) with a traceback. ``tools/train_det.py``, ``tools/test_det.py``
and ``tools/pretrain_backbone.py`` call :func:`preflight` first, so each fails in one line naming the
file, and the config's runtime switches (:mod:`nst_det.engine.runtime`) are applied in one place.

Under a launcher it first joins the process group (:func:`~nst_det.engine.launch.start_distributed`);
the checkpoint and dataset checks, the same on every rank, then run once on rank 0 while the other
ranks wait for its answer (:func:`~nst_det.utils.distributed.share_from_rank0`): a failure there
stops every rank with rank 0's one line.
"""
from __future__ import annotations

import os
from pathlib import Path

from mmengine.config import Config

from nst_det.det.datasets import check_datasets
from nst_det.engine.launch import start_distributed, total_batch_warning, warn
from nst_det.engine.runtime import apply_runtime_switches
from nst_det.utils.distributed import share_from_rank0
from nst_det.utils.errors import NSTDetError

TRAIN_LOADERS = ("train_dataloader", "val_dataloader")
TEST_LOADERS = ("test_dataloader",)


def preflight(cfg: Config, training: bool, data_check: bool = True) -> list[str]:
    """Join the launcher's process group; check the work dir, the checkpoint a run resumes or starts from,
    and the datasets' files (VOC/COCO annotations and images, the evaluators' annotation files), then
    apply the runtime switches; ``cfg`` is changed in place. A training run whose total batch is not the
    one its lr is written for gets one WARNING line.

    Returns:
        Lines for the log (``"dataset ok: ..."``), the same on every rank.

    Raises:
        NSTDetError: one line naming what is wrong and where.
    """
    start_distributed(cfg)
    check_work_dir(cfg.work_dir)

    def shared_checks() -> list[str]:
        check_checkpoints(cfg)
        if not data_check:
            return []
        return [f"dataset ok: {line}" for line in check_datasets(cfg, TRAIN_LOADERS if training else TEST_LOADERS)]

    notes = share_from_rank0(shared_checks, what="checkpoint and dataset checks")
    apply_runtime_switches(cfg, training)
    batch = total_batch_warning(cfg) if training else None
    if batch:
        warn(batch)
    return notes


def check_checkpoints(cfg: Config) -> None:
    """Read the checkpoint a run will resume or start from before the Runner is built.

    A missing, damaged or hostile file fails here with one line naming it (mmengine would fail deep
    inside ``torch.load``); the same safe reader then serves mmengine itself (see
    :func:`~nst_det.utils.checkpoint.read_checkpoint`).
    """
    from nst_det.utils.checkpoint import last_checkpoint, read_checkpoint
    from nst_det.utils.download import local_file

    path, what = cfg.get("load_from"), "load_from checkpoint"
    if cfg.get("resume"):
        what = "resume checkpoint"
        path = path or last_checkpoint(cfg.work_dir)  # what mmengine's find_latest_checkpoint gives resume
    if path:  # a URL / torchvision:// name is downloaded into torch's hub cache, where mmengine then finds it
        read_checkpoint(local_file(path, what), what=what)


def check_work_dir(work_dir: str) -> None:
    """Fail before training if the work dir cannot be created or written."""
    path = Path(work_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write_test_{os.getpid()}"
        probe.write_bytes(b"\0" * 4096)
        probe.unlink()
    except OSError as exc:
        raise NSTDetError(f"work dir {path} is not writable: {exc.strerror or exc}") from None
