"""Evaluate a detector checkpoint: VOC mAP and/or COCO-style AP (pycocotools), per-class tables.

    python tools/test_det.py configs/faster_rcnn_nst.py work_dirs/faster_rcnn_nst/epoch_4.pth --coco-ap
    python tools/test_det.py configs/distill/mmdet/nst/nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py CKPT \\
        --json-prefix out/nst --out out/nst.pkl

A VOC config reports mAP (11-point for VOC07) with mmdet's per-class table; ``--coco-ap`` (implied
by ``--json-prefix``) adds COCO-style AP/AP50/AP75/APs/APm/APl through pycocotools, converting the
VOC ground truth to COCO format on the fly. A COCO config reports COCO AP with a per-class table.
``--json-prefix P`` writes ``P.bbox.json`` (and for VOC ``P.gt.json``), which plain pycocotools
evaluates. The checkpoint is read as data (pickled code never runs) and must match the student
detector exactly; a distiller config is tested as its student alone (no teacher is loaded).
``--tta`` and ``--show`` (``--wait-time``) behave as in mmdet 3.3's ``tools/test.py``: test-time augmentation
(the config's ``tta_model``/``tta_pipeline``, else the image and its flip merged by NMS) and a window per image.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path
from typing import Optional

from mmengine.config import Config, ConfigDict
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel
from mmengine.runner import Runner

import nst_det.register_all  # noqa: F401  (registers models, datasets, hooks, metrics)
from nst_det.det import student_only
from nst_det.engine.cli import add_common_args, read_config, run_cli
from nst_det.engine.evaluation import PACK_DEFAULT_META_KEYS, configure_test_evaluation
from nst_det.engine.preflight import preflight
from nst_det.engine.runner import build_runner
from nst_det.utils.errors import NSTDetError
from nst_det.utils.gpu import use_device
from nst_det.utils.weights import load_checked, read_state_dict, resolve_checkpoint, unwrap_model


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="config file (a distiller config tests its student)")
    parser.add_argument("checkpoint", help="checkpoint written by tools/train_det.py (or any state dict), "
                                           "or a work dir: the checkpoint its last_checkpoint file names")
    add_common_args(parser)
    parser.add_argument("--out", help="also pickle the raw predictions to this .pkl file")
    parser.add_argument("--json-prefix", help="write detections to PREFIX.bbox.json (COCO results format)")
    parser.add_argument("--show-dir", help="draw predictions on the test images into this folder")
    parser.add_argument("--show", action="store_true", help="show each test image with its predictions in a window "
                                                            "(needs a display)")
    parser.add_argument("--wait-time", type=float, default=2, help="with --show: seconds each image is shown")
    parser.add_argument("--tta", action="store_true",
                        help="test-time augmentation as mmdet's tools/test.py: the config's tta_model/tta_pipeline, "
                             "or by default the image and its horizontal flip merged by NMS (DetTTAModel)")
    parser.add_argument("--coco-ap", action="store_true", help="VOC configs: also report COCO-style AP")
    return parser


def enable_tta(cfg: Config) -> list[str]:
    """``--tta`` as mmdet 3.3's ``tools/test.py``: wrap the model in ``cfg.tta_model`` and test with
    ``cfg.tta_pipeline``; without them, ``DetTTAModel`` (NMS 0.5, 100 per image) over the image and its
    horizontal flip. The flip step keeps the test pipeline's own ``PackDetInputs`` meta keys (plus the flip's)."""
    notes = []
    if "tta_model" not in cfg:
        cfg.tta_model = dict(type="DetTTAModel", tta_cfg=dict(nms=dict(type="nms", iou_threshold=0.5), max_per_img=100))
        notes.append("--tta: no tta_model in the config; mmdet's default DetTTAModel (NMS 0.5, 100 boxes per image)")
    if "tta_pipeline" not in cfg:
        dataset = cfg.test_dataloader.dataset
        while "dataset" in dataset:
            dataset = dataset["dataset"]
        pipeline = copy.deepcopy(list(dataset.pipeline))
        meta_keys = tuple(pipeline[-1].get("meta_keys", PACK_DEFAULT_META_KEYS))
        meta_keys += tuple(k for k in ("flip", "flip_direction") if k not in meta_keys)
        pipeline[-1] = dict(type="TestTimeAug", transforms=[
            [dict(type="RandomFlip", prob=1.0), dict(type="RandomFlip", prob=0.0)],
            [dict(type="PackDetInputs", meta_keys=meta_keys)]])
        cfg.tta_pipeline = pipeline
        notes.append("--tta: no tta_pipeline in the config; the test pipeline on the image and its horizontal flip")
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    return notes


def load_test_config(args: argparse.Namespace) -> tuple[Config, list[str]]:
    """The config with flags applied: student-only model, evaluation outputs, visualisation."""
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    use_device(args.device)
    cfg = read_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or str(Path("work_dirs") / Path(args.config).stem)
    cfg.load_from, cfg.resume = None, False  # weights are loaded below, as data and strictly
    notes = []
    if student_only(cfg):
        notes.append("distiller config: testing the student detector alone")
    notes += configure_test_evaluation(cfg, coco_ap=args.coco_ap, json_prefix=args.json_prefix, out=args.out)
    if args.tta:
        notes += enable_tta(cfg)
    if args.show or args.show_dir:  # mmdet's trigger_visualization_hook
        visualization = cfg.default_hooks.setdefault("visualization", dict(type="DetVisualizationHook"))
        visualization.update(draw=True)
        if args.show:
            if sys.platform.startswith("linux") and not any(map(os.environ.get, ("DISPLAY", "WAYLAND_DISPLAY"))):
                raise NSTDetError("--show needs a display (DISPLAY is not set); save the pictures with --show-dir DIR")
            visualization.update(show=True, wait_time=args.wait_time)
        if args.show_dir:
            visualization.update(test_out_dir=str(Path(args.show_dir).resolve()))
            notes.append(f"drawings: {args.show_dir}")
    return cfg, notes


def load_student_weights(runner: Runner, checkpoint: str) -> Path:
    """Load ``checkpoint`` (a file or a work dir) into the runner's model, read as data, every key
    required; returns the file read."""
    checkpoint = resolve_checkpoint(checkpoint)
    model = unwrap_model(runner.model)
    model = model.module if isinstance(model, BaseTTAModel) else model  # --tta: the detector inside DetTTAModel
    load_checked(model, read_state_dict(checkpoint, what="checkpoint"), "checkpoint", checkpoint)
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
    runner = build_runner(cfg)
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
