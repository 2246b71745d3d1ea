"""Every ImageNet-stage config (configs/distill/imagenet/) builds, with its teacher file pointed
at a stand-in through the config's own ``teacher_checkpoint`` variable (as ``--cfg-options`` would)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.registry import DefaultScope

from nst_det.engine.cli import merge_options
from nst_det.losses import NSTLoss
from nst_det.pretrain import STUDENTS, ClassifierDistiller
from nst_det.registry import MODELS
from nst_det.utils.download import url_of

ROOT = Path(__file__).resolve().parents[1]
COMPARISON = ROOT / "configs" / "distill" / "imagenet"
CONFIGS = sorted(p for p in COMPARISON.rglob("*.py") if "_base_" not in p.parts)
# the comparison's methods: folder -> (feature loss kinds, KD)
METHODS = {"ce": ([], False), "kd": ([], True), "fitnet": (["fitnet"], False), "at": (["at"], False),
           "nst": (["nst"], False), "kd-nst": (["nst"], True), "at-nst": (["at", "nst"], False)}


def test_the_config_list_covers_both_recipes_and_the_demo():
    names = {p.name for p in CONFIGS}
    assert {"nst_r101_r18_100e_imagenet.py", "nst_r101_r18_nag-b512-100e_imagenet.py", "ce_r18_100e_imagenet.py",
            "kd-nst_r101_r18_100e_imagenet.py", "nst_r34_r18_8e_demo.py", "ce_r34_12e_demo.py",
            "nst_r101_r34_100e_imagenet.py", "nst_r101_r50_100e_imagenet.py", "nst_r101_mbv2_100e_imagenet.py"} <= names


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


def test_the_comparison_has_every_method_real_and_demo():
    found = {}
    for config in CONFIGS:
        if COMPARISON in config.parents:
            # the dataset field, without a variant's suffix (``_imagenet-device-decode.py``)
            found.setdefault(config.parent.name, set()).add(config.stem.rsplit("_", 1)[1].split("-")[0])
    assert found == {method: {"imagenet", "demo"} for method in METHODS}


def config_param(config: Path):
    """Real-size comparison configs (a ResNet-101 teacher) build in the slow set, demo ones in the fast loop."""
    slow = COMPARISON in config.parents and not config.name.endswith("_demo.py")
    return pytest.param(config, marks=pytest.mark.slow) if slow else config


@pytest.mark.parametrize("config", [config_param(c) for c in CONFIGS], ids=lambda p: p.name)
def test_config_builds(config: Path, teacher_files):
    cfg = Config.fromfile(str(config))
    assert cfg.auto_scale_lr.base_batch_size > 0 and not cfg.auto_scale_lr.enable  # --auto-scale-lr turns it on
    teacher = cfg.model.get("teacher")
    if teacher:
        merge_options(cfg, {"teacher_checkpoint": str(teacher_files(teacher.arch, teacher.num_classes))})
    with DefaultScope.overwrite_default_scope(cfg.default_scope):  # as the Runner builds it
        model = MODELS.build(cfg.model)
    assert isinstance(model, ClassifierDistiller)
    core = model.distill_core
    for loss in core.losses:  # every NST term is the official one (nst_det/losses/nst.py)
        if isinstance(loss, NSTLoss):
            assert (loss.kernel, loss.loss_weight) == ("poly", 50.0)
            assert loss.mmd_kwargs["constant"] == 0.0 and loss.mmd_kwargs["eps"] == 1e-10
    if core.losses:  # the student's final pre-activation (nst_det/pretrain/students.py)
        assert [p.student for p in core.pairs] == [STUDENTS[model.student_arch].final_tap]
    if COMPARISON in config.parents:  # the comparison's configs differ in their terms alone
        kinds, kd = METHODS[config.parent.name]
        assert core.kinds == kinds and (core.kd_loss is not None) == kd
        assert (model.teacher is None) == (config.parent.name == "ce")
        assert sorted(core.adapters) == (["layer4_1_relu_in"] if "fitnet" in kinds else [])  # FitNet's regressor


@pytest.mark.parametrize("config", [c for c in CONFIGS if "demo" not in c.name], ids=lambda p: p.name)
def test_each_imagenet_config_names_the_torchvision_weights_its_recipe_expects(config: Path):
    cfg = Config.fromfile(str(config))
    teacher = cfg.model.get("teacher")
    if not teacher:
        return
    weights = f"{teacher.arch.replace('resnet', 'ResNet')}_Weights.IMAGENET1K_V1"
    assert cfg.teacher_checkpoint == teacher.checkpoint == f"torchvision://{weights}"
    assert url_of(teacher.checkpoint) == torchvision.models.get_weight(weights).url
    assert f"torchvision://{weights}" in config.read_text()  # named in the file itself (a field or a comment)
