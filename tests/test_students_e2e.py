"""A MobileNetV2 student end to end: tools/pretrain_backbone.py distils it from a ResNet-34 teacher of another
class count (NST only) on tiny generated data, and its export loads strictly into mmdet's MobileNetV2."""
from __future__ import annotations

import json

import pytest
import torch
from tooling import NST_CONFIG, PRETRAIN, run_tool, tiny_options

from nst_det.pretrain.students import build_mmdet_backbone

pytestmark = pytest.mark.slow


def test_mobilenet_v2_student_pretrains_and_exports_for_mmdet(tmp_path, tiny_data, teacher_file):
    work = tmp_path / "work"
    result = run_tool(PRETRAIN, [NST_CONFIG, "--work-dir", str(work),
                                 "--cfg-options", *tiny_options(tiny_data, epochs=1),
                       f"teacher_checkpoint={teacher_file}", "model.teacher.num_classes=4",  # the student has 5
                       "model.student.arch=mobilenet_v2",
                       "model.distill.taps=[(features.18.2:input,layer4.2.relu:input)]"])
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "loss_nst_features_18_2_in" in log
    assert "teacher accuracy not measured: the teacher has 4 classes, the student's val set 5" in log

    backbone = work / "backbone_mobilenet_v2.pth"
    info = json.loads(backbone.with_suffix(".json").read_text())
    assert (info["arch"], info["num_classes"], info["iters"]) == ("mobilenet_v2", 5, 5)
    assert [(t["student"], t["teacher"]) for t in info["distill"]["taps"]] == [("features.18.2:input",
                                                                              "layer4.2.relu:input")]
    exported = torch.load(backbone, weights_only=True)
    model = build_mmdet_backbone("mobilenet_v2")
    model.load_state_dict(exported, strict=True)  # zero missing, zero unexpected keys

    # tools/export_backbone.py writes the same file from the training checkpoint
    again = tmp_path / "again.pth"
    result = run_tool("export_backbone.py", [str(work / "epoch_1.pth"), str(again)])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "mobilenet_v2" in result.stdout
    reexported = torch.load(again, weights_only=True)
    assert set(reexported) == set(exported) and all(torch.equal(reexported[k], v) for k, v in exported.items())
