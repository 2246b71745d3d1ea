"""NST on FPN for other detector families, end to end on tiny generated VOC data: each demo NST config trains
2 iterations with ``tools/train_det.py`` (a random teacher checkpoint of its own family), logs one NST loss per
distilled level, and its checkpoint is tested with the plain student config by ``tools/test_det.py``."""
from __future__ import annotations

import json

import pytest
import torch
from tooling import run_tool

from det_fixtures import DEMO, FPN_DISTILL, build_model, feature_checkpoint, tiny_run_options

pytestmark = pytest.mark.slow

# family: (NST demo config, plain student config, teacher config, distilled levels, test option keeping every box)
FAMILIES = {
    "retinanet": ("nst-fpn_retina-r34_retina-r18_8e_demo.py", "retinanet_r18_fpn_nst-backbone_8e_demo.py",
                  "retinanet_r34_fpn_ce-backbone_8e_demo.py", ("p3", "p4", "p5", "p6", "p7"),
                  "model.test_cfg.score_thr=0.0"),
    "cascade_rcnn": ("nst-fpn_cascade-r34_cascade-r18_8e_demo.py", "cascade-rcnn_r18_fpn_nst-backbone_8e_demo.py",
                     "cascade-rcnn_r34_fpn_ce-backbone_8e_demo.py", ("p2", "p3", "p4", "p5"),
                     "model.test_cfg.rcnn.score_thr=0.0"),
    "fcos": ("nst-fpn_fcos-r34_fcos-r18_8e_demo.py", "fcos_r18_fpn_nst-backbone_8e_demo.py",
             "fcos_r34_fpn_ce-backbone_8e_demo.py", ("p3", "p4", "p5", "p6", "p7"), "model.test_cfg.score_thr=0.0"),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_demo_nst_trains_and_its_checkpoint_tests_with_the_plain_student_config(family, det_data, weight_files,
                                                                               tmp_path):
    nst_config, plain_config, teacher_config, levels, keep_all = FAMILIES[family]
    teacher = feature_checkpoint(DEMO / teacher_config, tmp_path / "teacher.pth")
    options = [o for o in tiny_run_options(det_data / "VOCdevkit", weight_files)
               if not o.startswith("teacher_checkpoint=")] + [f"teacher_checkpoint={teacher}"]
    work = tmp_path / "work"
    result = run_tool("train_det.py", [str(FPN_DISTILL / "nst" / nst_config), "--work-dir", str(work),
                                       "--cfg-options", *options])
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    assert all(f"loss_nst_{level}" in log for level in levels) and "Epoch(train) [1][2/2]" in log

    checkpoint = torch.load(work / "epoch_1.pth", weights_only=True)  # the plain student
    assert list(checkpoint["state_dict"]) == list(build_model(DEMO / plain_config).state_dict())

    result = run_tool("test_det.py", [
        str(DEMO / plain_config), str(work), "--work-dir", str(tmp_path / "test"),
        "--cfg-options", f"data_root={det_data}/VOCdevkit/", keep_all, "test_dataloader.num_workers=0",
        "test_dataloader.persistent_workers=False"])
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    assert "pascal_voc/mAP" in json.loads((tmp_path / "test" / "test_metrics.json").read_text())
