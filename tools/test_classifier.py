"""Evaluate a classifier on the ImageNet-stage val set: top-1 / top-5.

    CONFIG=configs/distill/imagenet/nst/nst_r101_r18_100e_imagenet.py
    python tools/test_classifier.py $CONFIG work_dirs/nst_r101_r18_100e_imagenet
    python tools/test_classifier.py $CONFIG work_dirs/nst_r101_r18_100e_imagenet/epoch_90.pth
    python tools/test_classifier.py $CONFIG classifier_resnet18.pth --cfg-options data_root=/data/imagenet/
    python tools/test_classifier.py $CONFIG torchvision://ResNet18_Weights.IMAGENET1K_V1

The network is the config's student (``model.student.arch``, ``num_classes``), evaluated with the config's
val data and metric (mmengine's val loop). The checkpoint may be a ``pretrain_backbone.py`` training checkpoint
(the distiller's ``student.*``), a training work dir (its ``last_checkpoint``), the exported
``classifier_<arch>.pth``, a torchvision state dict (a file, a URL or ``torchvision://<Weights>``) or an
mmpretrain/mmcls ResNet; it is read as data and must cover the network exactly. Another architecture:
``--cfg-options model.student.arch=resnet50``. The metrics go to ``<work_dir>/test_metrics.json`` too.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.runner import Runner

import nst_det.register_all  # noqa: F401  (registers models, datasets, hooks, metrics)
from nst_det.engine.cli import add_common_args, read_config, run_cli
from nst_det.engine.launch import start_distributed
from nst_det.engine.preflight import check_work_dir
from nst_det.pretrain.classifiers import load_classifier_weights
from nst_det.utils.errors import NSTDetError
from nst_det.utils.gpu import use_device
from nst_det.utils.weights import resolve_checkpoint, unwrap_model


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="ImageNet-stage config (its student network, val data and metric)")
    parser.add_argument("checkpoint", help="training checkpoint or work dir, exported classifier, torchvision "
                                           "state dict (file, URL, torchvision://<Weights>)")
    add_common_args(parser)
    args = parser.parse_args(argv)

    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    use_device(args.device)
    cfg = read_config(args.config, args.cfg_options)
    student = cfg.model.get("student") if cfg.model.get("type") == "ClassifierDistiller" else None
    if not student or not cfg.get("val_dataloader") or not cfg.get("val_evaluator"):
        raise NSTDetError(f"{args.config} is not an ImageNet-stage config (a ClassifierDistiller model with "
                          "val_dataloader and val_evaluator)")
    cfg.model = dict(type="ClassifierDistiller", student=student, data_preprocessor=cfg.model.get("data_preprocessor"),
                     channels_last=cfg.model.get("channels_last", False))
    cfg.custom_hooks, cfg.load_from, cfg.resume = [], None, False
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or str(Path("work_dirs") / Path(args.config).stem / "test")
    check_work_dir(cfg.work_dir)
    start_distributed(cfg)
    checkpoint = args.checkpoint if "://" in args.checkpoint else str(resolve_checkpoint(args.checkpoint))
    runner = Runner.from_cfg(cfg)
    model = unwrap_model(runner.model)
    fmt = load_classifier_weights(model.student, checkpoint, student["arch"], what="checkpoint")
    print_log(f"checkpoint {checkpoint} ({fmt} format) loaded into the {student['arch']} student", logger="current")
    metrics = runner.val()
    if is_main_process():
        lines = "\n".join(f"{name:<20s} {value:.2f}" for name, value in metrics.items())
        print(f"\n== {args.config} @ {checkpoint} ({student['arch']}, {fmt} format) ==\n{lines}", flush=True)
        (Path(cfg.work_dir) / "test_metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
