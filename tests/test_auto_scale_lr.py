"""``--auto-scale-lr`` (mmdet's flag) on both training tools: the lr the optimizer ends up with."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from mmengine.runner import Runner
from tooling import run_tool

from nst_det.engine.cli import add_train_args, load_train_config
from nst_det.utils.errors import NSTDetError

ROOT = Path(__file__).resolve().parents[1]

CASES = [  # config, --cfg-options, lr in the config, total batch the lr is for, batch of this run
    ("configs/detection/faster_rcnn/faster-rcnn_r18_fpn_ce-backbone_1x_voc0712.py", [], 0.01, 16, 2),  # 8 GPUs x 2
    ("configs/detection/faster_rcnn/faster-rcnn_r18_fpn_ce-backbone_1x_coco.py", [], 0.02, 16, 2),  # stock COCO 1x
    ("configs/detection/demo/faster-rcnn_r18_fpn_ce-backbone_8e_demo.py", ["train_dataloader.batch_size=2"], 0.01, 4,
     2),
    ("configs/distill/imagenet/ce/ce_r18_100e_imagenet.py", [], 0.1, 256, 64),  # 4 processes x 64
    ("configs/distill/imagenet/ce/ce_r18_8e_demo.py", ["train_dataloader.batch_size=8"], 2e-3, 32, 8),
]


def optimizer_lr(tmp_path: Path, config: str, options: list[str], flags: list[str]) -> float:
    """Apply the tools' flags to ``config``, build its Runner and optimizer as ``Runner.train`` does."""
    args = add_train_args(argparse.ArgumentParser()).parse_args(
        [str(ROOT / config), "--work-dir", str(tmp_path), *flags, *(["--cfg-options", *options] if options else [])])
    cfg = load_train_config(args)
    runner = Runner.from_cfg(cfg)
    optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(optim_wrapper, runner.auto_scale_lr)
    return optim_wrapper.param_groups[0]["lr"]


@pytest.mark.parametrize("config, options, lr, base_batch, batch", CASES, ids=[c[0] for c in CASES])
def test_auto_scale_lr_scales_by_total_batch_over_the_configs_base_batch(tmp_path, config, options, lr, base_batch,
                                                                         batch):
    assert optimizer_lr(tmp_path / "plain", config, options, []) == pytest.approx(lr)
    assert optimizer_lr(tmp_path / "scaled", config, options, ["--auto-scale-lr"]) == pytest.approx(
        lr * batch / base_batch)


def test_the_released_recipe_states_its_batch_and_nesterov():
    from mmengine.config import Config
    cfg = Config.fromfile(str(ROOT / "configs/distill/imagenet/nst/nst_r101_r18_nag-b512-100e_imagenet.py"))
    assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=512)
    assert cfg.optim_wrapper.optimizer == dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True)
    assert cfg.train_dataloader.batch_size * 8 == 512


def test_a_config_without_a_base_batch_is_refused(tmp_path):
    args = add_train_args(argparse.ArgumentParser()).parse_args(
        [str(ROOT / "configs/distill/imagenet/ce/ce_r18_8e_demo.py"), "--work-dir", str(tmp_path), "--auto-scale-lr",
         "--cfg-options", "auto_scale_lr.base_batch_size=0"])
    with pytest.raises(NSTDetError, match="sets no auto_scale_lr.base_batch_size"):
        load_train_config(args)


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["train_det.py", "pretrain_backbone.py"])
def test_both_tools_accept_the_flag(tool):
    result = run_tool(tool, ["--help"], timeout=300)
    assert result.returncode == 0 and "--auto-scale-lr" in result.stdout
