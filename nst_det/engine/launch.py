"""Joining the job before anything else runs: the process group, the device, the total batch.

The tools start the process group themselves, before the preflight, so that the work every rank
would repeat (dataset checks) runs once on rank 0 while the others wait
(:func:`~nst_det.utils.distributed.share_from_rank0`); the Runner then finds the group and keeps it.

* On GPUs, mmengine's own ``init_dist(launcher, **env_cfg.dist_cfg)`` (what the Runner would call).
* Without a GPU, a gloo group from the launcher's environment: torchrun's ``RANK``/``WORLD_SIZE``/
  ``MASTER_ADDR``/``MASTER_PORT``, or Slurm's ``SLURM_PROCID``/``SLURM_NTASKS``/``SLURM_LOCALID``/
  ``SLURM_NODELIST`` (mmengine's slurm launcher calls ``torch.cuda.set_device``, which a CPU refuses).
"""
from __future__ import annotations

import logging
import os
import subprocess

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.dist import init_dist
from mmengine.logging import print_log
from mmengine.utils.dl_utils import set_multi_processing

from nst_det.utils.distributed import parameter_digest
from nst_det.utils.errors import NSTDetError
from nst_det.utils.gpu import unusable_gpu_message
from nst_det.utils.weights import unwrap_model

DEFAULT_PORT = "29500"  # torch.distributed's and mmengine's default


def start_distributed(cfg: Config) -> None:
    """Stop on a GPU torch cannot use; then join the process group of ``cfg.launcher`` (no-op for
    ``'none'`` or an existing group). ``cfg`` is changed for CPU runs (gloo, DDP without device ids)."""
    problem = unusable_gpu_message()
    if problem:
        raise NSTDetError(problem)
    launcher = cfg.get("launcher", "none")
    if launcher == "none" or dist.is_initialized():
        return
    env_cfg = cfg.get("env_cfg") or {}
    on_gpu = torch.cuda.is_available()
    if not on_gpu:
        if launcher == "slurm":
            _slurm_to_torchrun_environment()
        elif launcher != "pytorch":
            raise NSTDetError(f"--launcher {launcher} needs GPUs; on CPU use --launcher pytorch (torchrun) or slurm")
        if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
            raise NSTDetError("--launcher pytorch expects to run under torchrun (RANK and WORLD_SIZE are not set)")
    set_multi_processing(**(env_cfg.get("mp_cfg") or {}), distributed=True)  # as the Runner does, first
    if on_gpu:
        init_dist(launcher, **(env_cfg.get("dist_cfg") or {}))
        return
    cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})["backend"] = "gloo"
    # mmengine's default DDP wrapper passes device_ids=[LOCAL_RANK], which CPU modules refuse
    wrapper = cfg.get("model_wrapper_cfg") or dict(type="MMDistributedDataParallel", broadcast_buffers=False,
                                                   find_unused_parameters=cfg.get("find_unused_parameters", False))
    wrapper["device_ids"] = None
    cfg.model_wrapper_cfg = wrapper
    dist.init_process_group(backend="gloo")
    print_log(f"no CUDA device: rank {dist.get_rank()} of {dist.get_world_size()} runs on CPU over gloo",
              logger="current")


def _slurm_to_torchrun_environment() -> None:
    """Slurm's task variables as torchrun's, as mmengine's ``_init_dist_slurm`` sets them."""
    try:
        rank, tasks = os.environ["SLURM_PROCID"], os.environ["SLURM_NTASKS"]
    except KeyError as exc:
        raise NSTDetError(f"--launcher slurm expects to run under srun ({exc.args[0]} is not set)") from None
    if "MASTER_ADDR" not in os.environ:
        nodes = os.environ.get("SLURM_NODELIST", "")
        try:
            hosts = subprocess.run(["scontrol", "show", "hostname", nodes], capture_output=True, text=True).stdout
        except OSError:
            hosts = ""
        if not hosts.split():
            raise NSTDetError(f"--launcher slurm: 'scontrol show hostname {nodes}' named no node; set MASTER_ADDR")
        os.environ["MASTER_ADDR"] = hosts.split()[0]
    os.environ.setdefault("MASTER_PORT", DEFAULT_PORT)
    os.environ.update(RANK=rank, WORLD_SIZE=tasks, LOCAL_RANK=os.environ.get("SLURM_LOCALID", "0"))


def total_batch_warning(cfg: Config) -> str | None:
    """One line when ``world size x train_dataloader.batch_size`` is not the
    ``auto_scale_lr.base_batch_size`` the lr is written for and ``--auto-scale-lr`` is off."""
    scale = cfg.get("auto_scale_lr") or {}
    base, per_process = scale.get("base_batch_size"), (cfg.get("train_dataloader") or {}).get("batch_size")
    if not base or not per_process or scale.get("enable"):
        return None
    world = dist.get_world_size() if dist.is_initialized() else 1
    if world * per_process == base:
        return None
    return (f"the total batch is {world * per_process} ({world} processes x train_dataloader.batch_size "
            f"{per_process}) but the config's lr is written for auto_scale_lr.base_batch_size {base}: the lr is NOT "
            f"scaled; pass --auto-scale-lr to scale it by {world * per_process}/{base}")


def warn(message: str) -> None:
    """``message`` as one WARNING log line, from rank 0 only."""
    if not dist.is_initialized() or dist.get_rank() == 0:
        print_log(message, logger="current", level=logging.WARNING)


def training_finished(runner) -> str:
    """The line each rank prints at the end: its rank, a digest of the trained parameters (the same on
    every rank when DDP kept them in step; the frozen teacher is not among them) and the work dir."""
    return (f"rank {runner.rank}: training finished, parameters {parameter_digest(unwrap_model(runner.model))}, "
            f"work dir {runner.work_dir}")
