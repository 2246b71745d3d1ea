"""tools/test_classifier.py: top-1/top-5 of a student on the val set, from each checkpoint form a user holds."""
from __future__ import annotations

import json
import sys
from importlib import import_module

import pytest
import torch
import torchvision
from tooling import BASELINE_CONFIG, PRETRAIN, ROOT, run_tool, tiny_options

from nst_det.utils.errors import NSTDetError


def classifier_tool():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        return import_module("test_classifier")
    finally:
        sys.path.remove(str(ROOT / "tools"))


def evaluate(tmp_path, tiny_data, checkpoint, name: str) -> dict:
    tool = classifier_tool()
    work = tmp_path / name
    assert tool.main([BASELINE_CONFIG, str(checkpoint), "--work-dir", str(work), "--cfg-options",
                      *tiny_options(tiny_data)]) == 0
    return json.loads((work / "test_metrics.json").read_text())


def test_the_same_weights_score_the_same_in_every_form(tmp_path, tiny_data):
    torch.manual_seed(0)
    weights = torchvision.models.resnet18(num_classes=5).state_dict()
    torch.save(weights, tmp_path / "torchvision.pth")  # an exported classifier_resnet18.pth has this layout
    torch.save({"state_dict": {f"student.{k}": v for k, v in weights.items()}, "meta": {"epoch": 1}},
               tmp_path / "epoch_1.pth")  # a pretrain_backbone.py training checkpoint
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last_checkpoint").write_text(str(tmp_path / "epoch_1.pth"))
    results = [evaluate(tmp_path, tiny_data, tmp_path / name, name.replace(".pth", ""))
               for name in ("torchvision.pth", "epoch_1.pth", "run")]
    assert set(results[0]) == {"accuracy/top1", "accuracy/top5"} and 0 <= results[0]["accuracy/top1"] <= 100
    assert results[0] == results[1] == results[2]


def test_a_backbone_export_or_another_network_is_refused_in_one_line(tmp_path, tiny_data):
    weights = torchvision.models.resnet18(num_classes=5).state_dict()
    torch.save({k: v for k, v in weights.items() if not k.startswith("fc.")}, tmp_path / "backbone_resnet18.pth")
    with pytest.raises(NSTDetError, match=r"2 of \d+ keys missing: 'fc.weight', 'fc.bias'"):
        evaluate(tmp_path, tiny_data, tmp_path / "backbone_resnet18.pth", "backbone")
    torch.save(torchvision.models.resnet34(num_classes=5).state_dict(), tmp_path / "resnet34.pth")
    with pytest.raises(NSTDetError, match="does not fit the resnet18"):
        evaluate(tmp_path, tiny_data, tmp_path / "resnet34.pth", "r34")
    with pytest.raises(NSTDetError, match="is not an ImageNet-stage config"):
        classifier_tool().main([str(ROOT / "configs/detection/demo/faster-rcnn_r18_fpn_ce-backbone_8e_demo.py"),
                                     str(tmp_path / "resnet34.pth")])


@pytest.mark.slow
def test_a_trained_student_scores_what_its_training_logged(tmp_path, tiny_data):
    """pretrain_backbone.py (1 epoch), then test_classifier.py on the work dir and on the exported classifier:
    the val top-1/top-5 the training logged (about 30 s)."""
    work = tmp_path / "work"
    train = run_tool(PRETRAIN, [BASELINE_CONFIG, "--work-dir", str(work), "--cfg-options",
                                *tiny_options(tiny_data, epochs=1)])
    assert train.returncode == 0, train.stderr[-3000:]
    logged = [json.loads(line) for line in next(work.glob("*/vis_data/scalars.json")).read_text().splitlines()]
    val = [record for record in logged if "accuracy/top1" in record][-1]
    for checkpoint in (work, work / "classifier_resnet18.pth"):
        test = run_tool("test_classifier.py", [BASELINE_CONFIG, str(checkpoint), "--work-dir", str(tmp_path / "test"),
                                               "--cfg-options", *tiny_options(tiny_data)])
        assert test.returncode == 0, test.stderr[-3000:]
        metrics = json.loads((tmp_path / "test" / "test_metrics.json").read_text())
        assert metrics == pytest.approx({k: val[k] for k in ("accuracy/top1", "accuracy/top5")})
        assert "accuracy/top1" in test.stdout
