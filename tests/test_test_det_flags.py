"""tools/test_det.py ``--tta`` and ``--show`` with the behaviour of mmdet 3.3's tools/test.py."""
from __future__ import annotations

import pickle
import sys
from importlib import import_module

import pytest
from tooling import ROOT, run_tool

from nst_det.utils.errors import NSTDetError

from det_fixtures import FPN_DISTILL, TEACHER_CONFIG

NST_DEMO = str(FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py")


def det_tool():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        return import_module("test_det")
    finally:
        sys.path.remove(str(ROOT / "tools"))


def tool_config(*argv: str):
    tool = det_tool()
    return tool.load_test_config(tool.get_args_parser().parse_args([NST_DEMO, "ckpt.pth", *argv]))


def test_tta_wraps_the_student_in_mmdets_default_tta_model_and_flip_pipeline():
    cfg, notes = tool_config("--tta", "--coco-ap")
    assert cfg.model.type == "DetTTAModel" and cfg.model.module.type == "FasterRCNN"  # the distiller's student
    assert cfg.model.tta_cfg == dict(nms=dict(type="nms", iou_threshold=0.5), max_per_img=100)
    last = cfg.test_dataloader.dataset.pipeline[-1]
    assert last.type == "TestTimeAug" and [t["prob"] for t in last.transforms[0]] == [1.0, 0.0]
    pack = last.transforms[1][0]
    assert {"flip", "flip_direction", "instances"} <= set(pack["meta_keys"])  # --coco-ap's ground truth kept
    assert any(note.startswith("--tta: no tta_model") for note in notes)


def test_show_needs_a_display_and_sets_mmdets_visualization_hook(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(NSTDetError, match=r"--show needs a display \(DISPLAY is not set\); save the pictures with "
                                          r"--show-dir DIR"):
        tool_config("--show")
    monkeypatch.setenv("DISPLAY", ":0")
    cfg, _ = tool_config("--show", "--wait-time", "0.5")
    hook = {k: v for k, v in cfg.default_hooks.visualization.items() if k != "_scope_"}
    assert hook == dict(type="DetVisualizationHook", draw=True, show=True, wait_time=0.5)


@pytest.mark.slow
def test_show_puts_each_test_image_on_screen(det_data, weight_files, tmp_path, monkeypatch):
    """In process, with the window replaced by a recorder (no display here)."""
    from mmdet.visualization import DetLocalVisualizer

    shown = []
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(DetLocalVisualizer, "show", lambda self, image, win_name="", wait_time=0, **kw:
                        shown.append((win_name, wait_time)))
    assert det_tool().main([str(TEACHER_CONFIG), str(weight_files["teacher"]), "--show", "--wait-time", "0.25",
                                 "--work-dir", str(tmp_path), "--cfg-options", f"data_root={det_data}/VOCdevkit/",
                                 "test_dataloader.num_workers=0", "test_dataloader.persistent_workers=False"]) == 0
    assert len(shown) == 2 and all(wait == 0.25 for _, wait in shown)  # the 2 test images


@pytest.mark.slow
def test_tta_tests_the_image_and_its_flip(det_data, weight_files, tmp_path):
    """test_det.py with and without --tta on the same checkpoint (about 40 s): the TTA predictions merge the
    flipped view's, so they differ from the plain ones; both evaluate."""
    options = ["--cfg-options", f"data_root={det_data}/VOCdevkit/", "model.test_cfg.rcnn.score_thr=0.0",
               "test_dataloader.num_workers=0", "test_dataloader.persistent_workers=False"]
    predictions = {}
    for name, flags in (("plain", []), ("tta", ["--tta"])):
        result = run_tool("test_det.py", [str(TEACHER_CONFIG), str(weight_files["teacher"]), *flags, "--work-dir",
                                          str(tmp_path / name), "--out", str(tmp_path / f"{name}.pkl"), *options])
        assert result.returncode == 0, result.stderr[-3000:]
        assert "pascal_voc/mAP" in result.stdout
        predictions[name] = pickle.loads((tmp_path / f"{name}.pkl").read_bytes())
    assert "--tta: no tta_model in the config" in result.stdout + result.stderr
    plain, tta = predictions["plain"], predictions["tta"]
    assert len(plain) == len(tta) == 2
    assert any(p["pred_instances"]["bboxes"].shape != t["pred_instances"]["bboxes"].shape
               or not (p["pred_instances"]["bboxes"] == t["pred_instances"]["bboxes"]).all()
               for p, t in zip(plain, tta))
