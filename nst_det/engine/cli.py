"""What the tools share: mmdet-style flags, config reading and merging (``package::`` names:
:func:`~nst_det.det.teacher.config_file`), and one-line user errors."""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Optional

from mmengine.config import Config, DictAction

from nst_det.det.teacher import config_file
from nst_det.utils.checkpoint import PathLike
from nst_det.utils.classes import update_class_count
from nst_det.utils.errors import NSTDetError
from nst_det.utils.gpu import DEVICE_ENV, DEVICES, use_device
from nst_det.utils.loggers import VIS_BACKENDS, set_vis_backends

AMP_DTYPES = ("float16", "bfloat16")


def add_common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The flags every tool that builds a Runner shares (mmdet's ``tools/train.py``/``test.py`` names)."""
    parser.add_argument("--work-dir", help="where logs and checkpoints go (default: work_dirs/<config name>)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={},
                        help="override config entries, e.g. data_root=/data/VOCdevkit/ model.teacher.checkpoint=PATH")
    parser.add_argument("--no-data-check", action="store_true",
                        help="skip the up-front dataset check (it reads every annotation once)")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none",
                        help="job launcher: 'pytorch' under torchrun (tools/dist_train.sh), 'slurm' under srun "
                             "(tools/slurm_train.sh)")
    parser.add_argument("--local-rank", "--local_rank", type=int, default=0)
    parser.add_argument("--device", choices=DEVICES, default=os.environ.get(DEVICE_ENV, "auto"),
                        help=f"'cpu': run on the CPU even where a GPU is listed (default: ${DEVICE_ENV} or auto)")
    return parser


def add_train_args(parser: argparse.ArgumentParser, amp_dtype: str = "float16") -> argparse.ArgumentParser:
    """The flags of mmdet's ``tools/train.py`` (with :func:`add_common_args`), plus ``--amp-dtype``
    (default ``amp_dtype``)."""
    parser.add_argument("config", help="config file")
    add_common_args(parser)
    parser.add_argument("--resume", nargs="?", type=str, const="auto",
                        help="resume from a checkpoint path, or with no value (or 'auto') from the "
                             "latest complete checkpoint in the work dir")
    parser.add_argument("--amp", action="store_true",
                        help="automatic mixed precision: float16 with dynamic loss scaling (GPU), or bfloat16 "
                             "autocast without scaling (GPU or CPU); see --amp-dtype")
    parser.add_argument("--amp-dtype", choices=AMP_DTYPES, default=amp_dtype,
                        help=f"the --amp precision (default {amp_dtype})")
    parser.add_argument("--auto-scale-lr", action="store_true",
                        help="scale the lr linearly by the total batch (processes x train_dataloader.batch_size) "
                             "over the config's auto_scale_lr.base_batch_size")
    parser.add_argument("--deterministic", action="store_true",
                        help="deterministic algorithms (randomness.deterministic=True) for reproducible runs")
    parser.add_argument("--vis", nargs="+", choices=list(VIS_BACKENDS), metavar="BACKEND",
                        help="log scalars to these mmengine visualisation backends too: tensorboard, wandb "
                             "(local, scalars.json, is always kept)")
    return parser


def load_train_config(args: argparse.Namespace) -> Config:
    """Read ``args.config`` and apply the flags as mmdet's ``tools/train.py`` does (then the tools run
    :func:`~nst_det.engine.preflight.preflight`)."""
    if "LOCAL_RANK" not in os.environ:
        os.environ["LOCAL_RANK"] = str(args.local_rank)
    use_device(args.device)
    config_path = Path(args.config)
    cfg = read_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or str(Path("work_dirs") / config_path.stem)
    if args.amp:
        apply_amp(cfg, args.amp_dtype)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg, config_path)
    if args.vis:
        set_vis_backends(cfg, args.vis)
    if args.deterministic:
        cfg.setdefault("randomness", {})
        cfg.randomness.deterministic = True
        cfg.randomness.setdefault("seed", 0)
    if args.resume == "auto":
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not Path(args.resume).is_file():
            raise NSTDetError(f"--resume {args.resume}: no such checkpoint file")
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def apply_amp(cfg: Config, dtype: str) -> None:
    """``--amp``: bfloat16 autocast (:class:`~nst_det.engine.optim.BF16OptimWrapper`, CPU or GPU) or float16
    with dynamic loss scaling (mmengine's ``AmpOptimWrapper``, GPU only)."""
    import torch

    if dtype == "bfloat16":
        cfg.optim_wrapper.type = "BF16OptimWrapper"
        return
    if not torch.cuda.is_available():
        raise NSTDetError("--amp with float16 needs a CUDA GPU (mmengine's AmpOptimWrapper); "
                          "on CPU use --amp --amp-dtype bfloat16")
    cfg.optim_wrapper.type = "AmpOptimWrapper"
    cfg.optim_wrapper.setdefault("loss_scale", "dynamic")


def enable_auto_scale_lr(cfg: Config, config_path: Path) -> None:
    """``--auto-scale-lr``, as mmdet's ``tools/train.py``: ``cfg.auto_scale_lr.enable = True``.

    mmengine's Runner then multiplies every lr by ``world size x train_dataloader.batch_size /
    auto_scale_lr.base_batch_size`` when it builds the optimizer.
    """
    scale = cfg.get("auto_scale_lr")
    if not scale or not scale.get("base_batch_size"):
        raise NSTDetError(f"--auto-scale-lr: {config_path} sets no auto_scale_lr.base_batch_size "
                          "(the total batch its lr is meant for)")
    scale.enable = True


def read_config(path: PathLike, options: dict) -> Config:
    """Read a config (a file or a ``package::`` name, :func:`config_file`) and apply ``--cfg-options``
    (see :func:`merge_options`); one-line errors."""
    path = config_file(path)
    try:
        cfg = Config.fromfile(str(path))
    except Exception as exc:  # mmengine raises KeyError/SyntaxError/... deep inside its parser
        raise NSTDetError(f"cannot read config {path}: {type(exc).__name__}: {exc}") from None
    merge_options(cfg, options)
    return cfg


def _replace_prefix(node: Any, old: str, new: str) -> Any:
    if isinstance(node, str):
        if node.startswith(old):
            return new + node[len(old):]
        return new.rstrip("/") if old.endswith("/") and node == old.rstrip("/") else node
    if isinstance(node, dict):
        return type(node)({k: _replace_prefix(v, old, new) for k, v in node.items()})
    if isinstance(node, (list, tuple)):
        return type(node)(_replace_prefix(v, old, new) for v in node)
    return node


def _same_ending(old: str, new: str) -> str:
    """``new`` with a trailing ``/`` exactly where ``old`` has one (``/data/coco`` for ``data/coco/``
    gives ``/data/coco/``), so ``data_root + 'annotations/...'`` stays a path either way."""
    if old.endswith("/") and new and not new.endswith("/"):
        return new + "/"
    if not old.endswith("/") and new.endswith("/") and new.rstrip("/"):
        return new.rstrip("/")
    return new


def merge_options(cfg: Config, options: dict) -> None:
    """``cfg.merge_from_dict(options)``, where a top-level path variable also moves what was built from it.

    Configs keep each data root and checkpoint in one top-level variable (``data_root = 'data/coco/'``)
    and build nested paths from it when the file is read (mmdet's ``ann_file=data_root +
    'annotations/...'``). ``--cfg-options data_root=/x/coco/`` would change only the variable; here
    every string in the config that started with the old value is rewritten to start with the new one,
    and the new value takes the old one's trailing ``/`` or lack of it (``data_root=/x/coco`` and
    ``data_root=/x/coco/`` give the same paths). Likewise the class count, ``num_classes`` (and
    ``classes_from``), reaches every head of the model (:func:`~nst_det.utils.classes.update_class_count`).
    """
    moved = {k: (cfg[k], _same_ending(cfg[k], v)) for k, v in options.items()
             if "." not in k and isinstance(cfg.get(k), str) and cfg.get(k) and isinstance(v, str)}
    num_classes = cfg.get("num_classes")
    cfg.merge_from_dict({**options, **{k: new for k, (_, new) in moved.items()}})
    for key, (old, new) in moved.items():
        for name in list(cfg.keys()):
            if name != key:
                cfg[name] = _replace_prefix(cfg[name], old, new)
    update_class_count(cfg, num_classes, options)


def finish_distributed() -> None:
    """Wait for every rank, then close the process group (a no-op outside torchrun).

    A rank that exits while a peer still talks to it over gloo can make that peer abort
    (``gloo::IoException`` in a background thread, SIGABRT); after the barrier nobody is talking.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def run_cli(main: Callable[[Optional[list[str]]], int], argv: Optional[list[str]] = None) -> int:
    """Run a tool's ``main``; a user-facing :class:`NSTDetError` becomes one line on stderr and exit 1.

    After a successful ``main`` under torchrun, the ranks leave together (:func:`finish_distributed`).
    """
    try:
        status = main(argv)
        finish_distributed()
        return status
    except NSTDetError as exc:
        if getattr(exc, "reported_elsewhere", False):  # rank 0 printed it
            return 1
        # errors raised in DataLoader workers arrive wrapped with the worker's traceback: keep the last line
        lines = [line for line in str(exc).strip().splitlines() if line.strip()]
        message = re.sub(r"^[\w.]*(NSTDetError|InvalidInputError): ", "", lines[-1] if lines else "")
        print(f"error: {message or type(exc).__name__}", file=sys.stderr)
        return 1
