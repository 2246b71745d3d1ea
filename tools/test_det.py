"""Evaluate a detector checkpoint: VOC mAP and/or COCO-style AP (pycocotools), per-class tables.

    python tools/test_det.py configs/faster_rcnn_nst.py work_dirs/faster_rcnn_nst/epoch_4.pth --coco-ap
    python tools/test_det.py configs/demo/faster_rcnn_nst_demo.py CKPT --json-prefix out/nst --out out/nst.pkl

A VOC config reports mAP (11-point for VOC07) with mmdet's per-class table; ``--coco-ap`` (implied
by ``--json-prefix``) adds COCO-style AP/AP50/AP75/APs/APm/APl through pycocotools, converting the
VOC ground truth to COCO format on the fly. A COCO config reports COCO AP with a per-class table.
``--json-prefix P`` writes ``P.bbox.json`` (and for VOC ``P.gt.json``), which plain pycocotools
evaluates. The checkpoint is read as data (pickled code never runs) and must match the student
detector exactly; a distiller config is tested as its student alone (no teacher is loaded).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Optional

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.runner import Runner

import nst_det.register_all  # noqa: F401  (registers models, datasets, hooks, metrics)
from nst_det.det.weights import resolve_checkpoint
from nst_det.engine.preflight import preflight
from nst_det.evaluation import configure_test_evaluation
from nst_det.utils.cli import add_common_args, read_config, run_cli
from nst_det.utils.gpu import use_device
from nst_det.utils.weights import load_checked, read_state_dict, unwrap_model


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="config file (a distiller config tests its student)")
    parser.add_argument("checkpoint", help="checkpoint written by tools/train_det.py (or any state dict), "
                                           "or a work dir: the checkpoint its last_checkpoint file names")
    add_common_args(parser)
    parser.add_argument("--out", help="also pickle the raw predictions to this .pkl file")
    parser.add_argument("--json-prefix", help="write detections to PREFIX.bbox.json (COCO results format)")
    parser.add_argument("--show-dir", help="draw predictions on the test images into this folder")
    parser.add_argument("--coco-ap", action="store_true", help="VOC configs: also report COCO-style AP")
    return parser


def load_test_config(args: argparse.Namespace) -> tuple[Config, list[str]]:
    """The config with flags applied: student-only model, evaluation outputs, visualisation."""
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    use_device(args.device)
    cfg = read_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or str(Path("work_dirs") / Path(args.config).stem)
    cfg.load_from, cfg.resume = None, False  # weights are loaded below, as data and strictly
    notes = []
    if cfg.model.get("type") == "NSTDistillDetector":
        cfg.model = cfg.model.student
        notes.append("distiller config: testing the student detector alone")
    notes += configure_test_evaluation(cfg, coco_ap=args.coco_ap, json_prefix=args.json_prefix, out=args.out)
    if args.show_dir:
        visualization = cfg.default_hooks.setdefault("visualization", dict(type="DetVisualizationHook"))
        visualization.update(draw=True, test_out_dir=str(Path(args.show_dir).resolve()))
        notes.append(f"drawings: {args.show_dir}")
    return cfg, notes


def load_student_weights(runner: Runner, checkpoint: str) -> Path:
    """Load ``checkpoint`` (a file or a work dir) into the runner's model, read as data, every key
    required; returns the file read."""
    checkpoint = resolve_checkpoint(checkpoint)
    load_checked(unwrap_model(runner.model), read_state_dict(checkpoint, what="checkpoint"), "checkpoint", checkpoint)
    return checkpoint


def format_metrics(metrics: dict) -> str:
    """The headline numbers, then per-class COCO AP when present."""
    lines = [f"{name:<28s} {value:.4f}" for name, value in metrics.items()
             if isinstance(value, float) and not name.endswith("_precision")]
    per_class = {name[:-len("_precision")].split("/")[-1]: value
                 for name, value in metrics.items() if name.endswith("_precision")}
    if per_class:
        lines.append("COCO-style AP per class:")
        lines += [f"  {name:<26s} {value:.3f}" for name, value in per_class.items()]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    args = get_args_parser().parse_args(argv)
    cfg, notes = load_test_config(args)
    notes += preflight(cfg, training=False, data_check=not args.no_data_check)
    runner = Runner.from_cfg(cfg)
    for note in notes:
        print_log(note, logger="current")
    checkpoint = load_student_weights(runner, args.checkpoint)
    metrics = runner.test()
    if is_main_process():
        print(f"\n== {args.config} @ {checkpoint} ==\n{format_metrics(metrics)}", flush=True)
        out = Path(cfg.work_dir) / "test_metrics.json"
        out.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
