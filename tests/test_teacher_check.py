"""The teacher is checked before distillation: its mAP (detection) or top-1 (ImageNet stage) is logged once, and
a teacher near zero / near chance stops the run in one line (``teacher_check=False`` skips the stop)."""
from __future__ import annotations

import argparse

import pytest
from mmengine.config import Config
from mmengine.runner import Runner
from tooling import NST_CONFIG, run_tool, tiny_options

from nst_det.engine.cli import add_common_args, merge_options
from nst_det.engine.hooks import TeacherCheckHook
from nst_det.engine.hooks.teacher_check import CLASSIFIER_DEFAULTS, chance_bound, check_settings, check_top1
from nst_det.engine.preflight import preflight
from nst_det.utils.errors import NSTDetError

from det_fixtures import FPN_DISTILL, TEACHER_CONFIG, feature_checkpoint, tiny_run_options

NST_DEMO = FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py"


def test_settings_defaults_and_off_switch():
    assert check_settings(Config(dict()), dict(max_images=500, min_map=0.01)) == dict(max_images=500, min_map=0.01)
    assert check_settings(Config(dict(teacher_check=dict(max_images=8))), dict(max_images=500, min_map=0.01)) == \
        dict(max_images=8, min_map=0.01)
    assert check_settings(Config(dict(teacher_check=False)), CLASSIFIER_DEFAULTS) is None
    with pytest.raises(NSTDetError, match=r"unknown key\(s\) \['max_image'\]"):
        check_settings(Config(dict(teacher_check=dict(max_image=8))), dict(max_images=500, min_map=0.01))


def test_an_imagenet_teacher_near_chance_stops_the_run():
    assert chance_bound(1000, 50000) == pytest.approx(1.1)  # 0.1 % chance + 1 point
    assert 57 < chance_bound(5, 10) < 58  # 20 % + 3 standard deviations of 10 images
    check_top1(77.4, 1000, 50000, dict(min_top1=None))  # torchvision's ResNet-101: fine
    check_top1(0.1, 1000, 50000, None)  # teacher_check=False
    with pytest.raises(NSTDetError, match=r"top-1 on val is 0.10 % over 50000 images, below 1.10 %") as error:
        check_top1(0.1, 1000, 50000, dict(min_top1=None))
    assert "\n" not in str(error.value) and "teacher_check=False" in str(error.value)
    with pytest.raises(NSTDetError, match="below 60.00 %"):
        check_top1(55.0, 10, 1000, dict(min_top1=60.0))


def demo_runner(det_data, weight_files, tmp_path, *extra: str) -> Runner:
    """The demo NST detector's Runner on the tiny data (val batches of one image), as tools/train_det.py builds it."""
    cfg = Config.fromfile(str(NST_DEMO))
    options = [o for o in tiny_run_options(det_data / "VOCdevkit", weight_files) if o != "teacher_check=False"]
    parsed = add_common_args(argparse.ArgumentParser()).parse_args(
        ["--cfg-options", *options, "val_dataloader.batch_size=1", *extra])
    merge_options(cfg, parsed.cfg_options)
    cfg.work_dir = str(tmp_path / "work")
    preflight(cfg, training=True)
    return Runner.from_cfg(cfg)


def test_a_detection_teacher_scoring_near_zero_stops_before_training(det_data, weight_files, tmp_path):
    runner = demo_runner(det_data, weight_files, tmp_path)  # the teacher file: a random detector
    assert any(isinstance(hook, TeacherCheckHook) for hook in runner.hooks)
    with pytest.raises(NSTDetError, match=r"teacher detector scores pascal_voc/mAP 0\.0+ on 2 val images, "
                                          r"below 0\.01") as error:
        TeacherCheckHook().before_train(runner)
    assert "\n" not in str(error.value) and "teacher_check=False" in str(error.value)


@pytest.mark.slow  # a Runner in process: seconds
def test_the_check_logs_the_teachers_map_on_a_slice(det_data, weight_files, tmp_path):
    runner = demo_runner(det_data, weight_files, tmp_path, "teacher_check.max_images=1", "teacher_check.min_map=0.0")
    TeacherCheckHook().before_train(runner)
    result = runner.message_hub.get_info("teacher_check")
    assert result["images"] == 1 and set(result) == {"pascal_voc/mAP", "images"}


@pytest.mark.slow  # a Runner in process: seconds
def test_a_teacher_file_without_head_weights_is_not_checked(det_data, weight_files, tmp_path):
    features_only = feature_checkpoint(TEACHER_CONFIG, tmp_path / "teacher_features.pth")
    runner = demo_runner(det_data, weight_files, tmp_path, f"teacher_checkpoint={features_only}")
    TeacherCheckHook().before_train(runner)  # nothing to evaluate with: skipped, not stopped
    assert runner.message_hub.get_info("teacher_check") is None


@pytest.mark.slow
def test_the_training_tools_stop_on_a_teacher_that_did_not_learn(det_data, weight_files, tiny_data, teacher_file,
                                                                 tmp_path):
    """Both tools, with random teachers and the default check: exit 1, one line, no checkpoint (about 40 s)."""
    options = [o for o in tiny_run_options(det_data / "VOCdevkit", weight_files) if o != "teacher_check=False"]
    det = run_tool("train_det.py", [str(NST_DEMO), "--work-dir", str(tmp_path / "det"), "--cfg-options", *options])
    assert det.returncode == 1 and not list((tmp_path / "det").glob("*.pth"))
    assert det.stderr.strip().splitlines()[-1].startswith("error: the teacher detector scores pascal_voc/mAP 0.0")
    assert "teacher check: pascal_voc/mAP" in det.stdout + det.stderr

    import torch
    import torchvision

    torch.manual_seed(0)
    teacher = tmp_path / "resnet34_5.pth"
    torch.save(torchvision.models.resnet34(num_classes=5).state_dict(), teacher)
    options = [o for o in tiny_options(tiny_data) if o != "teacher_check=False"]
    nst = run_tool("pretrain_backbone.py", [NST_CONFIG, "--work-dir",
                                            str(tmp_path / "nst"), "--cfg-options", *options,
                                            f"teacher_checkpoint={teacher}"])
    assert nst.returncode == 1 and not list((tmp_path / "nst").glob("*.pth"))
    assert nst.stderr.strip().splitlines()[-1].startswith("error: the teacher's top-1 on val is")
