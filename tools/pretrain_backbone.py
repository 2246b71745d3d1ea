"""ImageNet stage: distill a student ResNet from a frozen teacher with CE + λ·NST (+ KD).

    python tools/pretrain_backbone.py configs/distill/imagenet/nst/nst_r101_r18_100e_imagenet.py \\
        --cfg-options data_root=/data/imagenet/ teacher_checkpoint=/ckpt/resnet101.pth
    torchrun --nproc_per_node=8 tools/pretrain_backbone.py CONFIG --launcher pytorch

Logs (with ETA), checkpoints and resume come from mmengine's Runner. ``--amp`` trains under bfloat16
autocast (CPU or GPU, no loss scaling); ``--cfg-options compile=True`` compiles the training step
(mmengine's ``torch.compile`` switch; the feature taps and the frozen teacher trace with it). At the end the student
backbone is exported to ``<work_dir>/backbone_<arch>.pth`` (+ ``.json``) for MMDetection.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

from mmengine.logging import print_log
from mmengine.runner import Runner

import nst_det.register_all  # noqa: F401  (registers models, datasets, hooks, metrics)
from nst_det.engine.cli import add_train_args, load_train_config, run_cli
from nst_det.engine.launch import training_finished
from nst_det.engine.preflight import preflight


def main(argv: Optional[list[str]] = None) -> int:
    parser = add_train_args(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), amp_dtype="bfloat16")
    args = parser.parse_args(argv)
    cfg = load_train_config(args)
    for note in preflight(cfg, training=True, data_check=not args.no_data_check):
        print_log(note, logger="current")
    runner = Runner.from_cfg(cfg)
    runner.train()
    print(training_finished(runner), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
