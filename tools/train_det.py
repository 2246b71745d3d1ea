"""Detection stage: train an mmdet detector, optionally with NST from a frozen teacher's FPN.

    python tools/train_det.py configs/faster_rcnn_nst.py \\
        --cfg-options data_root=/data/VOCdevkit/ backbone_checkpoint=/ckpt/backbone_resnet18.pth
    python tools/train_det.py configs/distill/mmdet/nst/nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py \\
        --work-dir work_dirs/nst_demo
    torchrun --nproc_per_node=8 tools/train_det.py CONFIG --launcher pytorch

The flags are mmdet's ``tools/train.py``'s. Before the Runner is built (``nst_det/engine/preflight.py``,
shared with the other tools), the work dir, the checkpoint to resume or start from and the datasets the config
names are checked (missing folders or images, malformed XML/JSON, boxes outside the image: one
``error:`` line naming the file). Checkpoints hold the student detector only and load with
``torch.load(weights_only=True)``; ``tools/test_det.py CONFIG CKPT`` evaluates them.
The switches of ``configs/_base_/det_runtime.py`` are applied (``nst_det/engine/runtime.py``): truncated
or undecodable images are named, and each training image's augmentation is seeded by
``(seed, epoch, index)``, so ``--resume auto`` after a kill continues as the uninterrupted run would.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

from mmengine.logging import print_log

import nst_det.register_all  # noqa: F401  (registers models, datasets, hooks, metrics)
from nst_det.engine.cli import add_train_args, load_train_config, run_cli
from nst_det.engine.launch import training_finished
from nst_det.engine.preflight import preflight
from nst_det.engine.runner import build_runner
from nst_det.utils.errors import NSTDetError


def main(argv: Optional[list[str]] = None) -> int:
    args = add_train_args(argparse.ArgumentParser(description=__doc__.split("\n\n")[0])).parse_args(argv)
    if args.amp and args.amp_dtype == "bfloat16":
        raise NSTDetError("--amp-dtype bfloat16 is not available for detection: mmcv's RoIAlign has no bfloat16 "
                          "kernel; --amp trains detectors in float16 with dynamic loss scaling")
    cfg = load_train_config(args)
    for note in preflight(cfg, training=True, data_check=not args.no_data_check):
        print_log(note, logger="current")
    runner = build_runner(cfg)
    runner.train()
    print(training_finished(runner), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
