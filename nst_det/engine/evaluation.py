"""Configure a config's test evaluation: COCO-style AP for VOC configs, detection files.

mmdet's ``CocoMetric`` without ``ann_file`` converts the ground truth it receives with each data
sample (the dataset's ``instances``, in original-image pixels) to COCO format on the fly and writes
it to ``<prefix>.gt.json``. :func:`configure_test_evaluation` uses that for VOC configs: it adds
``instances`` to the test pipeline's ``PackDetInputs`` meta keys and appends a ``CocoMetric``
beside the ``VOCMetric``, so one test run prints VOC mAP (11-point for VOC07) and pycocotools'
AP/AP50/AP75/APs/APm/APl, each with a per-class table. VOC ``difficult`` boxes become COCO
``iscrowd`` boxes (ignored, as VOC ignores them).
"""
from __future__ import annotations

from typing import Optional

from mmdet.evaluation import CocoMetric, VOCMetric
from mmengine.config import Config, ConfigDict

from nst_det.registry import METRICS

PACK_DEFAULT_META_KEYS = ("img_id", "img_path", "ori_shape", "img_shape", "scale_factor", "flip",
                          "flip_direction")


def _metric_class(evaluator: dict) -> Optional[type]:
    kind = evaluator.get("type")
    return METRICS.get(kind) if isinstance(kind, str) else kind


def _is(evaluator: dict, base: type) -> bool:
    cls = _metric_class(evaluator)
    return isinstance(cls, type) and issubclass(cls, base)


def _pack_steps(dataset_cfg: dict):
    """Every ``PackDetInputs`` step in the pipelines of ``dataset_cfg`` (wrappers followed)."""
    for key in ("dataset", "datasets"):
        inner = dataset_cfg.get(key)
        for sub in ([inner] if isinstance(inner, dict) else inner or []):
            yield from _pack_steps(sub)
    for step in dataset_cfg.get("pipeline") or []:
        if step.get("type") == "PackDetInputs":
            yield step


def keep_ground_truth_meta(dataset_cfg: dict) -> None:
    """Pass each image's annotation list (``instances``) through ``PackDetInputs`` as meta data."""
    for step in _pack_steps(dataset_cfg):
        keys = tuple(step.get("meta_keys", PACK_DEFAULT_META_KEYS))
        if "instances" not in keys:
            step["meta_keys"] = keys + ("instances",)


def configure_test_evaluation(cfg: Config, coco_ap: bool = False, json_prefix: Optional[str] = None,
                              out: Optional[str] = None) -> list[str]:
    """Rewrite ``cfg.test_evaluator`` in place for ``tools/test_det.py``.

    Args:
        cfg: the config; its ``test_evaluator`` may be one metric or a list.
        coco_ap: for a VOC config, also compute COCO-style AP with pycocotools.
        json_prefix: write detections as ``<prefix>.bbox.json`` (COCO results format; for VOC
            configs also the converted ground truth ``<prefix>.gt.json``); implies ``coco_ap``.
        out: also pickle the raw predictions here (mmdet's ``DumpDetResults``, ``.pkl``).

    Returns:
        Human-readable lines saying what the evaluation computes and writes.
    """
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
    evaluators = [ConfigDict(e) for e in evaluators]
    notes = []
    coco = [e for e in evaluators if _is(e, CocoMetric)]
    if any(_is(e, VOCMetric) for e in evaluators) and not coco and (coco_ap or json_prefix):
        keep_ground_truth_meta(cfg.test_dataloader.dataset)
        coco = [ConfigDict(type="CocoMetric", metric="bbox")]
        evaluators += coco
        notes.append("COCO-style AP: VOC ground truth converted to COCO format on the fly")
    for metric in coco:
        metric.classwise = True
        if json_prefix:
            metric.outfile_prefix = json_prefix
            notes.append(f"detections: {json_prefix}.bbox.json (COCO results format)")
            if not metric.get("ann_file"):
                notes.append(f"ground truth: {json_prefix}.gt.json (COCO format)")
    if out:
        evaluators.append(ConfigDict(type="DumpDetResults", out_file_path=out))
        notes.append(f"raw predictions: {out}")
    cfg.test_evaluator = evaluators
    return notes
