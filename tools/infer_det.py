"""Run a trained detector on images: pictures with boxes and one JSON of detections.

    python tools/infer_det.py configs/faster_rcnn_nst.py work_dirs/faster_rcnn_nst street.jpg photos/ --out-dir out

MMDetection's ``DetInferencer`` on the config's model; a distiller config (``NSTDistillDetector``)
runs its student alone, and its teacher is never built or loaded. The checkpoint (a file, or a
training work dir: the checkpoint its ``last_checkpoint`` names) is read as data and must cover the
detector exactly. Writes ``<out-dir>/vis/<image>.jpg`` (boxes drawn), ``<out-dir>/preds/<image>.json``
(mmdet's per-image format) and ``<out-dir>/detections.json``: per image, the detections above
``--score-thr`` with class names, scores and ``[x1, y1, x2, y2]`` boxes in pixels.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

from mmengine.config import DictAction

import nst_det.register_all  # noqa: F401  (the distiller, datasets, metrics; the safe checkpoint reader)
from nst_det.det import student_only
from nst_det.engine.cli import read_config, run_cli
from nst_det.pretrain.samples import IMAGE_EXTENSIONS
from nst_det.utils.errors import NSTDetError
from nst_det.utils.weights import load_checked, read_state_dict, resolve_checkpoint


def collect_images(inputs: list[str]) -> list[Path]:
    """Image files named directly, and the images inside named folders (sorted)."""
    images = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
            if not found:
                raise NSTDetError(f"{item} holds no images (extensions {', '.join(IMAGE_EXTENSIONS)})")
            images += found
        elif item.is_file():
            images.append(item)
        else:
            raise NSTDetError(f"image {item} does not exist")
    return images


def detections_of(prediction: dict, classes: tuple, score_thr: float) -> list[dict]:
    """mmdet's prediction dict (``labels``, ``scores``, ``bboxes``) as named detections above ``score_thr``."""
    return [dict(label=classes[label], score=round(float(score), 4), bbox=[round(float(v), 1) for v in box])
            for label, score, box in zip(prediction["labels"], prediction["scores"], prediction["bboxes"])
            if score >= score_thr]


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="detector config (a distiller config runs its student)")
    parser.add_argument("checkpoint", help="checkpoint file, or a training work dir")
    parser.add_argument("images", nargs="+", help="image files and/or folders of images")
    parser.add_argument("--out-dir", required=True, help="where pictures and JSON go")
    parser.add_argument("--score-thr", type=float, default=0.3, help="draw and report detections at or above this")
    parser.add_argument("--device", default=None, help="e.g. cuda:0 (default: cuda if available, else cpu)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={}, help="override config entries")
    args = parser.parse_args(argv)

    from mmdet.apis import DetInferencer

    cfg = read_config(args.config, args.cfg_options)
    student_only(cfg)
    images = collect_images(args.images)
    checkpoint = resolve_checkpoint(args.checkpoint)
    inferencer = DetInferencer(model=cfg, weights=str(checkpoint), device=args.device, show_progress=False)
    # DetInferencer loads non-strictly (missing weights stay random): check every key, then load strictly
    load_checked(inferencer.model, read_state_dict(checkpoint, what="checkpoint"), "checkpoint", checkpoint)

    out = Path(args.out_dir)
    results = inferencer([str(p) for p in images], out_dir=str(out), pred_score_thr=args.score_thr, no_save_pred=False)
    classes = tuple(inferencer.model.dataset_meta["classes"])
    detections = [dict(image=str(image), detections=detections_of(prediction, classes, args.score_thr))
                  for image, prediction in zip(images, results["predictions"])]
    (out / "detections.json").write_text(json.dumps(detections, indent=1) + "\n")
    total = sum(len(d["detections"]) for d in detections)
    print(f"{len(images)} image(s), {total} detection(s) at score >= {args.score_thr}: {out / 'vis'}, "
          f"{out / 'detections.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
