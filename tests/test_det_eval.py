"""Evaluation as tools/test_det.py configures it: ground truth as predictions scores 1.0 (VOC mAP and
COCO AP, also for a VOC config through the on-the-fly COCO conversion), and the detections JSON
it writes evaluates identically with plain pycocotools."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from nst_det.engine.cli import merge_options
from nst_det.engine.evaluation import configure_test_evaluation
from nst_det.registry import DATASETS

from det_fixtures import FPN_DISTILL, plain_pycocotools

VOC_CONFIG = FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py"
COCO_CONFIG = FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo-coco.py"


def ground_truth_predictions(sample, perturb: bool) -> InstanceData:
    """The sample's ground truth as detections (original-image pixels), optionally degraded:
    boxes shifted by a few pixels, one label wrong, a low-scoring false positive added."""
    gt = sample.gt_instances
    boxes, labels = gt.bboxes.tensor.clone(), gt.labels.clone()
    scores = torch.linspace(0.9, 0.5, len(labels))
    if perturb:
        boxes += torch.tensor([3.0, -2.0, 5.0, 1.0]) * torch.arange(len(labels)).unsqueeze(1)
        labels[-1] = (labels[-1] + 1) % 5
        boxes = torch.cat([boxes, torch.tensor([[2.0, 2.0, 40.0, 30.0]])])
        labels = torch.cat([labels, torch.tensor([0])])
        scores = torch.cat([scores, torch.tensor([0.3])])
    return InstanceData(bboxes=boxes, labels=labels, scores=scores)


def evaluate(config: Path, data_root: Path, json_prefix: Path, perturb: bool = False) -> dict:
    init_default_scope("mmdet")
    cfg = Config.fromfile(str(config))
    merge_options(cfg, {"data_root": f"{data_root}/"})
    configure_test_evaluation(cfg, coco_ap=True, json_prefix=str(json_prefix))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    evaluator = Evaluator(copy.deepcopy(list(cfg.test_evaluator)))
    evaluator.dataset_meta = dataset.metainfo
    for index in range(len(dataset)):
        sample = dataset[index]["data_samples"]
        sample.pred_instances = ground_truth_predictions(sample, perturb)
        evaluator.process(data_samples=[sample])
    return evaluator.evaluate(len(dataset))


def test_voc_ground_truth_scores_one_in_voc_map_and_coco_ap(det_data, tmp_path):
    metrics = evaluate(VOC_CONFIG, det_data / "VOCdevkit", tmp_path / "voc")
    assert metrics["pascal_voc/mAP"] == pytest.approx(1.0)
    assert metrics["coco/bbox_mAP"] == pytest.approx(1.0) and metrics["coco/bbox_mAP_50"] == pytest.approx(1.0)
    assert all(metrics[f"coco/{name}_precision"] == pytest.approx(1.0) for name in ("circle", "ring")
               if f"coco/{name}_precision" in metrics)


def test_coco_ground_truth_scores_one(det_data, tmp_path):
    metrics = evaluate(COCO_CONFIG, det_data / "coco", tmp_path / "coco")
    assert metrics["coco/bbox_mAP"] == pytest.approx(1.0) and metrics["coco/bbox_mAP_75"] == pytest.approx(1.0)


@pytest.mark.parametrize("layout", ["voc", "coco"])
def test_the_detections_json_evaluates_identically_with_plain_pycocotools(det_data, tmp_path, layout):
    prefix = tmp_path / layout
    if layout == "voc":
        metrics = evaluate(VOC_CONFIG, det_data / "VOCdevkit", prefix, perturb=True)
        gt_json = Path(f"{prefix}.gt.json")  # the VOC test set, converted to COCO by the evaluation
    else:
        metrics = evaluate(COCO_CONFIG, det_data / "coco", prefix, perturb=True)
        gt_json = det_data / "coco" / "annotations" / "instances_val.json"
    stats = plain_pycocotools(gt_json, Path(f"{prefix}.bbox.json"))
    assert 0.0 < metrics["coco/bbox_mAP"] < 1.0
    for index, name in enumerate(["bbox_mAP", "bbox_mAP_50", "bbox_mAP_75"]):
        assert metrics[f"coco/{name}"] == pytest.approx(round(stats[index], 3), abs=1e-9)
