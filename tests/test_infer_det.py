"""tools/infer_det.py: a distiller config's student on images (the teacher never loaded), pictures with
boxes and a JSON of detections; checkpoints that do not fit and missing images refused in one line."""
from __future__ import annotations

import json

import pytest
import torch
from tooling import run_tool

from det_fixtures import DEMO, FPN_DISTILL, build_model

pytestmark = pytest.mark.slow

CLASSES = ("circle", "square", "triangle", "cross", "ring")


@pytest.fixture(scope="module")
def student_checkpoint(tmp_path_factory):
    """A checkpoint of the demo student as tools/train_det.py writes it (weights + dataset_meta)."""
    torch.manual_seed(0)
    model = build_model(DEMO / "faster-rcnn_r18_fpn_nst-backbone_8e_demo.py")
    path = tmp_path_factory.mktemp("infer") / "epoch_1.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {"dataset_meta": {"classes": CLASSES}}}, path)
    return path


def test_a_distiller_config_runs_its_student_on_images(det_data, student_checkpoint, tmp_path):
    images = det_data / "VOCdevkit" / "VOC2007" / "JPEGImages"
    one = sorted(images.glob("*.jpg"))[0]
    result = run_tool("infer_det.py", [str(FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py"),
                                       str(student_checkpoint), str(one),
                                       str(images), "--out-dir", str(tmp_path / "out"), "--score-thr", "0.05",
                                       "--cfg-options", "teacher_checkpoint=/nonexistent/teacher.pth"])
    assert result.returncode == 0, result.stderr[-3000:]
    found = sorted(images.glob("*.jpg"))
    detections = json.loads((tmp_path / "out" / "detections.json").read_text())
    assert [d["image"] for d in detections] == [str(one)] + [str(p) for p in found]
    boxes = [box for d in detections for box in d["detections"]]
    assert boxes and all(b["label"] in CLASSES and b["score"] >= 0.05 and len(b["bbox"]) == 4 for b in boxes)
    assert sorted(p.name for p in (tmp_path / "out" / "vis").glob("*.jpg")) == sorted(p.name for p in found)
    assert f"{len(found) + 1} image(s), {len(boxes)} detection(s)" in result.stdout


def test_a_checkpoint_of_another_detector_and_a_missing_image_are_refused(det_data, weight_files, tmp_path):
    image = sorted((det_data / "VOCdevkit" / "VOC2007" / "JPEGImages").glob("*.jpg"))[0]
    config = str(DEMO / "faster-rcnn_r18_fpn_nst-backbone_8e_demo.py")
    wrong = run_tool("infer_det.py", [config, str(weight_files["teacher"]), str(image), "--out-dir", str(tmp_path)])
    assert wrong.returncode == 1
    last = wrong.stderr.strip().splitlines()[-1]
    assert last.startswith("error: checkpoint ") and "does not fit the FasterRCNN" in last
    missing = run_tool("infer_det.py", [config, str(weight_files["teacher"]), str(tmp_path / "nope.jpg"),
                                        "--out-dir", str(tmp_path)])
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1] == f"error: image {tmp_path / 'nope.jpg'} does not exist"
