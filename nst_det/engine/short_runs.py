"""Short training runs of a detection config in this process: every iteration's losses, then the detections.

What ``tools/sweep_distill.py`` (the FPN-distillation sweep) and the stability tests run: a shipped config,
unchanged but for what :class:`ShortRun` names (data root, small images, batch, a fixed number of iterations,
the schedule of the first iterations, and the ``model.distill`` settings under test), trained by mmengine's
``Runner`` with the config's own hooks (minus those :attr:`ShortRun.drop_hooks` names). After training, the
model predicts the test set once and the detections it keeps (the config's own ``test_cfg`` thresholds) are
counted: a collapsed detector keeps none ("results of the whole dataset is empty").

The schedule of a short run: the config's optimizer (its base lr, its gradient clipping unless ``clip_grad`` is
given) and the iteration-based part of its LR schedule (its warm-up: none in the stock VOC schedules, lr 0.01 from
iteration 1; FCOS's lr/3 for 500 iterations), or, with ``lr_warmup_iters``, a linear LR warm-up of that many
iterations instead (mmdet's ``LinearLR`` from 0.001; 0: none): a short warm-up stands for a long one (the same
ramp, steeper). The epoch-based steps of a schedule are far beyond a short run and left out.
"""
from __future__ import annotations

import copy
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from nst_det.engine.cli import read_config
from nst_det.engine.runtime import apply_runtime_switches
from nst_det.utils.errors import NSTDetError

RESIZE_TYPES = ("Resize", "RandomResize", "RandomChoiceResize")


@dataclass(frozen=True)
class ShortRun:
    """One short run.

    Args:
        config: a detection config file (an ``NSTDistillDetector`` config or a plain detector).
        work_dir: where the Runner writes its log (and the checkpoint, with ``save_checkpoint``).
        variables: top-level config variables to set (``data_root``, ``backbone_checkpoint``,
            ``teacher_checkpoint``), moved everywhere they were used (``--cfg-options`` semantics).
        iters: training iterations.
        seed: ``randomness.seed``.
        image_scale: ``(width, height)`` of every ``Resize`` step of every pipeline.
        batch_size: training images per iteration.
        distill: ``model.distill`` entries to set: ``loss`` replaces the loss config, ``loss_weight`` sets its
            weight, others (``warmup_iters``, ``adapt_channels``, ``level_weights``) are set as given.
        lr_warmup_iters: ``None``: the config's own iteration-based LR schedule (its warm-up); else a linear LR
            warm-up of this many iterations instead (0: the base lr from iteration 1).
        clip_grad: ``max_norm`` of gradient clipping (L2); ``None``: the config's own (e.g. FCOS's 35, or none);
            0: none.
        drop_hooks: ``custom_hooks`` types to leave out (the sweep measures collapse, so it drops the guard).
        save_checkpoint: write ``iter_<iters>.pth`` at the end (the config's own checkpoint hook).
        scale_lr: scale the config's lr from its ``auto_scale_lr.base_batch_size`` to ``batch_size`` (linearly,
            as ``--auto-scale-lr`` does); by default the config's lr is kept (the sweep's worst case).
        options: further ``--cfg-options``-style entries.
    """

    config: str
    work_dir: str
    variables: dict = field(default_factory=dict)
    iters: int = 20
    seed: int = 0
    image_scale: tuple[int, int] = (160, 120)
    batch_size: int = 2
    distill: dict = field(default_factory=dict)
    lr_warmup_iters: Optional[int] = None
    clip_grad: Optional[float] = None
    drop_hooks: tuple[str, ...] = ()
    save_checkpoint: bool = False
    scale_lr: bool = False
    options: dict = field(default_factory=dict)


@dataclass
class ShortRunResult:
    """What a short run gives: ``losses[i]`` is iteration ``i + 1``'s logged values (``loss_*``, ``acc``...),
    ``detections`` those kept on the ``images`` test images, ``error`` the line that stopped it (or ``None``)."""

    losses: list[dict[str, float]]
    detections: int
    images: int
    error: Optional[str]
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


class LossRecorder(Hook):
    """Keep every training iteration's logged values (as floats)."""

    priority = "HIGHEST"  # before any hook that may stop the run at this iteration

    def __init__(self) -> None:
        self.losses: list[dict[str, float]] = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        self.losses.append({k: float(v.detach() if hasattr(v, "detach") else v) for k, v in (outputs or {}).items()})


def set_resize_scale(node: Any, scale: tuple[int, int]) -> Any:
    """Every ``Resize``-like step under ``node`` (a dataloader/dataset/pipeline config) resizes to ``scale``."""
    if isinstance(node, dict):
        if node.get("type") in RESIZE_TYPES:
            node = {k: v for k, v in node.items() if k not in ("scale", "scales", "ratio_range")}
            node.update(type="Resize", scale=tuple(scale), keep_ratio=True)
            return node
        return {k: set_resize_scale(v, scale) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(set_resize_scale(v, scale) for v in node)
    return node


def short_run_config(run: ShortRun) -> Config:
    """The config of ``run``: the file's, with what :class:`ShortRun` sets (nothing else changes)."""
    cfg = read_config(run.config, dict(run.variables))
    cfg.merge_from_dict(dict(run.options))
    for name in ("train_dataloader", "test_dataloader"):
        loader = cfg[name]
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset = set_resize_scale(loader.dataset.to_dict(), run.image_scale)
    cfg.train_dataloader.batch_size = run.batch_size
    cfg.test_dataloader.batch_size = 2
    cfg.train_cfg = dict(type="IterBasedTrainLoop", max_iters=run.iters, val_interval=run.iters + 1)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    if run.lr_warmup_iters is None:
        cfg.param_scheduler = [s for s in cfg.get("param_scheduler") or [] if not s.get("by_epoch", True)]
    else:
        cfg.param_scheduler = ([dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0,
                                     end=run.lr_warmup_iters)] if run.lr_warmup_iters else [])
    if run.clip_grad is not None:
        cfg.optim_wrapper.pop("clip_grad", None)
        if run.clip_grad:
            cfg.optim_wrapper.clip_grad = dict(max_norm=float(run.clip_grad), norm_type=2)
    if run.scale_lr:
        cfg.optim_wrapper.optimizer.lr *= run.batch_size / cfg.auto_scale_lr.base_batch_size
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=run.batch_size)
    cfg.randomness = dict(seed=run.seed)
    cfg.default_hooks.logger = dict(type="LoggerHook", interval=max(1, run.iters // 4))
    cfg.default_hooks.checkpoint = (dict(type="CheckpointHook", interval=run.iters, by_epoch=False,
                                         backend_args=dict(backend="atomic_local"))
                                    if run.save_checkpoint else None)
    cfg.work_dir = run.work_dir
    cfg.log_level = "WARNING"
    cfg.launcher = "none"
    cfg.teacher_check = False  # the runs study teachers that failed to train (random weights) on purpose
    cfg.experiment_name = f"short_run_{uuid.uuid4().hex[:12]}"  # loggers and message hubs are per experiment
    if run.distill:
        if cfg.model.get("type") != "NSTDistillDetector":
            raise NSTDetError(f"{run.config}: distill settings {sorted(run.distill)} given for a config without "
                              "model.distill (not an NSTDistillDetector)")
        distill = dict(run.distill)
        if "loss" in distill:  # a whole loss config replaces the config's (NSTLoss -> MSELoss)
            cfg.model.distill.loss = dict(distill.pop("loss"))
        if "loss_weight" in distill:
            cfg.model.distill.loss.loss_weight = float(distill.pop("loss_weight"))
        cfg.model.distill.update(distill)
    apply_runtime_switches(cfg, training=True)  # adds the project's hooks (nst_det_hooks) to custom_hooks
    cfg.custom_hooks = [h for h in cfg.get("custom_hooks", []) if h["type"] not in run.drop_hooks]
    return cfg


def count_detections(runner: Runner, cfg: Config) -> tuple[int, int]:
    """``(detections kept, images)`` of the trained model on the config's test set."""
    loader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))
    model = runner.model
    model.eval()
    kept = images = 0
    with torch.no_grad():
        for batch in loader:
            for sample in model.test_step(batch):
                kept += len(sample.pred_instances)
                images += 1
    return kept, images


def write_random_teacher(teacher_config: str, path: Path, seed: int) -> Path:
    """A stock-format checkpoint of ``teacher_config``'s detector with random weights (torch seed ``seed``).

    The worst case a distillation run can meet: a teacher that silently failed to train or to load. The file
    is what mmengine writes (``mmengine.runner.checkpoint.save_checkpoint`` of ``meta``, ``state_dict`` and a
    ``message_hub`` holding mmengine's own objects), read by the distiller like any user's teacher checkpoint.
    """
    from mmengine.logging import MessageHub
    from mmengine.runner.checkpoint import get_state_dict, save_checkpoint, weights_to_cpu

    from nst_det.det import load_model_config
    from nst_det.registry import MODELS

    model_cfg = load_model_config(teacher_config)
    model_cfg.backbone.init_cfg = None  # no torchvision:// download: the weights are the layers' own init
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    hub = MessageHub(f"random_teacher_{uuid.uuid4().hex[:8]}")
    hub.update_scalar("train/loss", 1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(dict(meta=dict(epoch=1, iter=1, seed=seed, note="random weights (sweep worst case)"),
                         state_dict=weights_to_cpu(get_state_dict(model)), message_hub=hub.state_dict()), str(path))
    return path


def _close_logger(name: str) -> None:
    """Close the per-experiment log file a Runner opened (many runs in one process)."""
    logger = MMLogger.get_instance(name)
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)


def train_short(run: ShortRun) -> ShortRunResult:
    """Train ``run`` and count its detections; a run stopped by a hook's :class:`NSTDetError` (a non-finite
    loss, the divergence guard) is a result too, with that line as ``error`` and no detections."""
    start = time.perf_counter()
    Path(run.work_dir).mkdir(parents=True, exist_ok=True)
    cfg = short_run_config(run)
    recorder = LossRecorder()
    runner = Runner.from_cfg(cfg)
    runner.register_hook(recorder)
    error = None
    try:
        runner.train()
        detections, images = count_detections(runner, cfg)
    except NSTDetError as exc:
        error, detections, images = str(exc), 0, 0
    finally:
        _close_logger(cfg.experiment_name)
    return ShortRunResult(recorder.losses, detections, images, error, time.perf_counter() - start)
