"""Every ImageNet-stage config in configs/pretrain/ builds, with its teacher file pointed at a stand-in
through the config's own ``teacher_checkpoint`` variable (as ``--cfg-options`` would)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.registry import DefaultScope

from nst_det.losses import NSTLoss
from nst_det.pretrain import STUDENTS, ClassifierDistiller
from nst_det.registry import MODELS
from nst_det.utils.cli import merge_options
from nst_det.utils.download import url_of

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (ROOT / "configs" / "pretrain").glob("*.py"))


def test_the_config_list_covers_both_recipes_and_the_demo():
    names = {p.name for p in CONFIGS}
    assert {"nst_r101_r18_imagenet.py", "nst_r101_r18_imagenet_released_recipe.py", "baseline_r18_imagenet.py",
            "kd_nst_r101_r18_imagenet.py", "demo_nst_r34_r18.py", "demo_teacher_r34.py",
            "nst_r101_r34_imagenet.py", "nst_r101_r50_imagenet.py", "nst_r101_mbv2_imagenet.py"} <= names


@pytest.fixture(scope="module")
def teacher_files(tmp_path_factory) -> dict:
    """Random torchvision weights per (arch, num_classes), written on first use."""
    root, cache = tmp_path_factory.mktemp("teachers"), {}

    def get(arch: str, num_classes: int) -> Path:
        if (arch, num_classes) not in cache:
            path = root / f"{arch}_{num_classes}.pth"
            torch.save(getattr(torchvision.models, arch)(num_classes=num_classes).state_dict(), path)
            cache[arch, num_classes] = path
        return cache[arch, num_classes]
    return get


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_config_builds(config: Path, teacher_files):
    cfg = Config.fromfile(str(config))
    assert cfg.auto_scale_lr.base_batch_size > 0 and not cfg.auto_scale_lr.enable  # --auto-scale-lr turns it on
    teacher = cfg.model.get("teacher")
    if teacher:
        merge_options(cfg, {"teacher_checkpoint": str(teacher_files(teacher.arch, teacher.num_classes))})
    with DefaultScope.overwrite_default_scope(cfg.default_scope):  # as the Runner builds it
        model = MODELS.build(cfg.model)
    assert isinstance(model, ClassifierDistiller)
    if model.distill_loss is not None:  # every NST config uses the official term (nst_det/losses/nst.py)
        assert isinstance(model.distill_loss, NSTLoss)
        assert (model.distill_loss.kernel, model.distill_loss.loss_weight) == ("poly", 50.0)
        assert model.distill_loss.mmd_kwargs["constant"] == 0.0 and model.distill_loss.mmd_kwargs["eps"] == 1e-10
        # the student's final pre-activation (nst_det/pretrain/students.py)
        assert [str(s) for s, _ in model.tap_pairs] == [STUDENTS[model.student_arch].final_tap]


@pytest.mark.parametrize("config", [c for c in CONFIGS if not c.name.startswith("demo_")], ids=lambda p: p.name)
def test_each_imagenet_config_names_the_torchvision_weights_its_recipe_expects(config: Path):
    cfg = Config.fromfile(str(config))
    teacher = cfg.model.get("teacher")
    if not teacher:
        return
    weights = f"{teacher.arch.replace('resnet', 'ResNet')}_Weights.IMAGENET1K_V1"
    assert cfg.teacher_checkpoint == teacher.checkpoint == f"torchvision://{weights}"
    assert url_of(teacher.checkpoint) == torchvision.models.get_weight(weights).url
    assert f"torchvision://{weights}" in config.read_text()  # named in the file itself (a field or a comment)
