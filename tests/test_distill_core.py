"""The one distillation core both stages use: loss names by kind, loss=None, warm-up, adapters kept out of the
student's checkpoint, per-pair weights, several feature losses, and the record the report reads."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.structures import InstanceData

from nst_det.distill.core import DistillCore, TapPair
from nst_det.distill.settings import distill_settings
from nst_det.engine import DistillStateHook
from nst_det.losses import ATLoss, NSTLoss
from nst_det.registry import MODELS
from nst_det.utils.errors import NSTDetError

from det_fixtures import FPN_DISTILL

PREPROCESSOR = dict(type="ImgDataPreprocessor", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
TAP = ("layer4", "layer4")


def classifier(teacher_file: Path, **distill):
    return MODELS.build(dict(type="ClassifierDistiller", student=dict(arch="resnet18", num_classes=4),
                             teacher=dict(arch="resnet34", num_classes=4, checkpoint=str(teacher_file)),
                             distill=distill, data_preprocessor=PREPROCESSOR))


def batch(n: int = 2, size: int = 48) -> dict:
    gen = torch.Generator().manual_seed(0)
    return dict(inputs=torch.randint(0, 256, (n, 3, size, size), generator=gen, dtype=torch.uint8),
                data_samples=torch.arange(n) % 4)


def features(model, data):
    """The tapped layer4 features of student and teacher (both ResNets: all but pooling and fc)."""
    with torch.no_grad():
        student = torch.nn.Sequential(*list(model.student.children())[:-2])(data["inputs"])
        teacher = torch.nn.Sequential(*list(model.teacher.children())[:-2])(data["inputs"])
    return student, teacher


def test_an_mse_loss_in_the_imagenet_stage_is_logged_as_mse(teacher_file):
    model = classifier(teacher_file, taps=[TAP], loss=dict(type="MSELoss")).eval()
    data = model.data_preprocessor(batch(), False)
    with torch.no_grad():
        losses = model.loss(data["inputs"], data["data_samples"])
    assert set(losses) == {"loss_cls", "loss_mse_layer4"}
    student, teacher = features(model, data)
    torch.testing.assert_close(losses["loss_mse_layer4"], (student - teacher).square().mean())


def test_loss_none_means_no_feature_loss_in_both_stages(teacher_file, weight_files):
    with pytest.raises(NSTDetError, match=r"^ClassifierDistiller: distill.loss=None means no feature loss, but there "
                                          r"are taps to distil \(layer4\)"):
        classifier(teacher_file, taps=[TAP], loss=None)
    kd_only = classifier(teacher_file, taps=[], loss=None, kd_loss=dict(type="KDLoss"))
    assert not kd_only.distill_core.losses and kd_only.distill_core.kd_loss is not None
    cfg = Config.fromfile(str(FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py"))
    cfg.model.student.backbone.init_cfg = None
    cfg.model.teacher.checkpoint = str(weight_files["teacher"])
    cfg.model.distill.loss = None  # the detection stage always has levels to distil: never a silent NST
    with pytest.raises(NSTDetError, match=r"^NSTDistillDetector: distill.loss=None means no feature loss, but there "
                                          r"are taps to distil \(p2, p3, p4, p5\)"):
        MODELS.build(cfg.model)


def core(warmup_iters: int) -> DistillCore:
    pairs = [TapPair("a", "a", "a")]
    return DistillCore("test", pairs, distill_settings("NSTDistillDetector", dict(warmup_iters=warmup_iters)))


def test_the_warmup_counter_rule_is_the_same_for_both_stages():
    """The count of forward calls stands in for the runner's iteration, and advances only under a warm-up."""
    s, t = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3)
    plain, ramped = core(0), core(4)
    raw = NSTLoss()(s, t)
    for step in range(3):
        torch.testing.assert_close(plain([s], [t])["loss_nst_a"], raw)
        torch.testing.assert_close(ramped([s], [t])["loss_nst_a"], raw * (step + 1) / 4)
    assert plain._calls == 0 and ramped._calls == 3
    runner = SimpleNamespace(model=SimpleNamespace(distill_core=ramped), iter=10)
    DistillStateHook().before_train_iter(runner, batch_idx=0)  # under a runner its iteration counts
    assert ramped.warmup_factor() == 1.0


def test_fitnet_trains_its_regressor_which_stays_out_of_the_students_checkpoint(teacher_file, tmp_path):
    model = classifier(teacher_file, taps=[TAP], loss=dict(type="FitNetLoss", loss_weight=1e-3))
    regressor = model.distill_core.adapters["layer4"]  # FitNet's r: built even at equal widths (512 -> 512)
    assert (regressor.in_channels, regressor.out_channels, regressor.kernel_size) == (512, 512, (1, 1))
    assert {id(p) for p in regressor.parameters()} <= {id(p) for p in model.parameters()}
    before = regressor.weight.detach().clone()
    model.train()
    log_vars = model.train_step(batch(), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))
    assert set(log_vars) == {"loss", "loss_cls", "loss_fitnet_layer4"}
    assert not torch.equal(before, regressor.weight)

    checkpoint = {"state_dict": model.state_dict(), "meta": {}}
    runner = SimpleNamespace(model=model, work_dir=str(tmp_path))
    DistillStateHook().before_save_checkpoint(runner, checkpoint)
    assert all(k.startswith(("student.", "data_preprocessor.")) for k in checkpoint["state_dict"])
    assert sorted(checkpoint["distill_state_dict"]) == ["distill_core.adapters.layer4.bias",
                                                        "distill_core.adapters.layer4.weight"]
    fresh = classifier(teacher_file, taps=[TAP], loss=dict(type="FitNetLoss", loss_weight=1e-3))
    DistillStateHook().after_load_checkpoint(SimpleNamespace(model=fresh), checkpoint)
    fresh.load_state_dict(checkpoint["state_dict"], strict=True)  # resume: the trained regressor comes back
    assert torch.equal(fresh.distill_core.adapters["layer4"].weight, regressor.weight)


def test_other_widths_need_an_adapter_for_losses_comparing_channels_only(teacher_file):
    taps = [("layer3", "layer4")]  # 256 student channels, 512 teacher channels
    with pytest.raises(NSTDetError, match=r"tap layer3 has 256 student and 512 teacher channels and pkd compares "
                                          r"channels one to one; set distill.adapt_channels=True"):
        classifier(teacher_file, taps=taps, loss=dict(type="PKDLoss"))
    adapted = classifier(teacher_file, taps=taps, loss=dict(type="PKDLoss"), adapt_channels=True)
    assert adapted.distill_core.adapters["layer3"].weight.shape == (512, 256, 1, 1)
    for loss in (dict(type="NSTLoss"), dict(type="ATLoss")):  # channel distributions / attention: no adapter
        assert not classifier(teacher_file, taps=taps, loss=loss, adapt_channels=True).distill_core.adapters


def test_two_feature_losses_and_pair_weights(teacher_file):
    model = classifier(teacher_file, taps=[TAP, ("layer3", "layer3")],
                       loss=[dict(type="ATLoss"), dict(type="NSTLoss")], level_weights=dict(layer4=2.0)).eval()
    data = model.data_preprocessor(batch(), False)
    with torch.no_grad():
        losses = model.loss(data["inputs"], data["data_samples"])
    assert list(losses) == ["loss_cls", "loss_at_layer4", "loss_nst_layer4", "loss_at_layer3", "loss_nst_layer3"]
    student, teacher = features(model, data)
    torch.testing.assert_close(losses["loss_at_layer4"], 2.0 * ATLoss()(student, teacher))
    torch.testing.assert_close(losses["loss_nst_layer4"], 2.0 * NSTLoss()(student, teacher))
    with pytest.raises(NSTDetError, match=r"names one kind twice \(\['nst', 'nst'\]\)"):
        classifier(teacher_file, taps=[TAP], loss=[dict(type="NSTLoss"), dict(type="NSTLoss", kernel="linear")])
    with pytest.raises(NSTDetError, match=r"level_weights has 1 values for 2 taps"):
        classifier(teacher_file, taps=[TAP, ("layer3", "layer3")], level_weights=[1.0])


def test_the_record_says_what_was_built_and_the_hook_writes_it(teacher_file, tmp_path):
    model = classifier(teacher_file, taps=[TAP], loss=dict(type="NSTLoss", kernel="gaussian"),
                       kd_loss=dict(type="KDLoss", temperature=2.0), warmup_iters=5)
    DistillStateHook().before_train(SimpleNamespace(model=model, work_dir=str(tmp_path)))
    written = json.loads((tmp_path / "distill.json").read_text())
    assert (written["student"], written["teacher"]) == ("resnet18", "resnet34")
    assert written["distill"] == dict(
        losses=[dict(kind="nst", type="NSTLoss", loss_weight=50.0, kernel="gaussian", degree=2, constant=0.0)],
        kd=dict(kind="kd", type="KDLoss", loss_weight=1.0, temperature=2.0),
        taps=[dict(student="layer4", teacher="layer4", name="layer4", weight=1.0)], warmup_iters=5, adapters=[])
    assert model.distill_core.record() == written["distill"]


def test_a_detection_run_records_its_networks_and_loss_too(weight_files, tmp_path):
    cfg = Config.fromfile(str(FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py"))
    cfg.model.student.backbone.init_cfg = None
    cfg.model.teacher.checkpoint = str(weight_files["teacher"])
    cfg.model.distill.update(level_weights=dict(p2=0.5))
    model = MODELS.build(cfg.model)
    DistillStateHook().before_train(SimpleNamespace(model=model, work_dir=str(tmp_path)))
    written = json.loads((tmp_path / "distill.json").read_text())
    assert (written["student"], written["teacher"]) == ("FasterRCNN (ResNet-18)", "FasterRCNN (ResNet-34)")
    # the FPN weight the config sets (configs/_base_/nst_fpn_distill.py), as built
    assert [(loss["kind"], loss["loss_weight"]) for loss in written["distill"]["losses"]] == \
        [("nst", cfg.nst_fpn.distill.loss.loss_weight)] == [("nst", 10.0)]
    assert [(t["name"], t["weight"]) for t in written["distill"]["taps"]] == [("p2", 0.5), ("p3", 1.0), ("p4", 1.0),
                                                                             ("p5", 1.0)]


def test_every_feature_loss_runs_in_the_detection_stage_too(weight_files):
    """FitNet (with its regressor on every level) and AT on FPN levels, each image's valid region only."""
    cfg = Config.fromfile(str(FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py"))
    cfg.model.student.backbone.init_cfg = None
    cfg.model.teacher.checkpoint = str(weight_files["teacher"])
    cfg.model.distill.update(taps=("p3", "p4"), warmup_iters=0,
                             loss=[dict(type="FitNetLoss", loss_weight=1e-3), dict(type="ATLoss")])
    model = MODELS.build(cfg.model).train()
    assert sorted(model.distill_core.adapters) == ["p3", "p4"]  # FitNet's regressors, at equal widths too
    inputs = torch.randn(2, 3, 128, 160, generator=torch.Generator().manual_seed(0))
    samples = []
    for shape in ((128, 160), (100, 130)):  # the second image padded, as mmdet's preprocessor pads
        sample = DetDataSample(metainfo=dict(img_shape=shape, batch_input_shape=(128, 160), pad_shape=(128, 160)))
        sample.gt_instances = InstanceData(bboxes=torch.tensor([[10.0, 10.0, 60.0, 70.0]]), labels=torch.tensor([1]))
        samples.append(sample)
    losses = model.loss(inputs, samples)
    assert {"loss_fitnet_p3", "loss_fitnet_p4", "loss_at_p3", "loss_at_p4"} <= set(losses)
    assert all(torch.isfinite(losses[k]) for k in losses if k.startswith(("loss_fitnet", "loss_at")))
