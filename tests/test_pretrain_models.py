"""ImageNet stage, in process: teacher loading, the frozen teacher, loss terms, export -> mmdet."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torchvision
from mmengine.optim import OptimWrapper
from tooling import write_malicious_checkpoint

from nst_det.distill import loss_key
from nst_det.pretrain.classifiers import load_classifier_weights
from nst_det.pretrain.export import export_backbone
from nst_det.pretrain.models import ClassifierDistiller, tap_name
from nst_det.pretrain.students import check_against_mmdet_backbone
from nst_det.registry import MODELS
from nst_det.utils.errors import NSTDetError

PREPROCESSOR = dict(type="ImgDataPreprocessor", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])


def build_distiller(teacher_file: Path, **overrides) -> ClassifierDistiller:
    cfg = dict(type="ClassifierDistiller", student=dict(arch="resnet18", num_classes=4),
               teacher=dict(arch="resnet34", num_classes=4, checkpoint=str(teacher_file)),
               distill=dict(taps=[("layer4", "layer4"), ("layer3.1.relu:input", "layer3.5.relu:input")],
                            loss=dict(type="NSTLoss", loss_weight=50.0), kd_loss=dict(type="KDLoss", temperature=4.0)),
               data_preprocessor=PREPROCESSOR)
    cfg["distill"].update(overrides.pop("distill", {}))
    cfg.update(overrides)
    return MODELS.build(cfg)


def batch(n: int = 4, size: int = 48) -> dict:
    gen = torch.Generator().manual_seed(0)
    return dict(inputs=torch.randint(0, 256, (n, 3, size, size), generator=gen, dtype=torch.uint8),
                data_samples=torch.arange(n) % 4)


def test_train_step_updates_the_student_only(teacher_file):
    model = build_distiller(teacher_file)
    model.train()
    teacher_before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    student_before = {k: v.clone() for k, v in model.student.state_dict().items()}
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log_vars = model.train_step(batch(), optim)

    assert set(log_vars) == {"loss", "loss_cls", "loss_nst_layer4", "loss_nst_layer3_1_relu_in", "loss_kd"}
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    for key, value in model.teacher.state_dict().items():  # weights and BN statistics untouched
        assert torch.equal(value, teacher_before[key]), key
    assert all(p.grad is None and not p.requires_grad for p in model.teacher.parameters())
    assert not model.teacher.training and model.training
    changed = [k for k, v in model.student.state_dict().items() if not torch.equal(v, student_before[k])]
    assert any(k.startswith("layer1") for k in changed)


def test_teacher_is_outside_state_dict_parameters_and_follows_device(teacher_file):
    model = build_distiller(teacher_file)
    assert all(k.startswith("student.") or k.startswith("data_preprocessor.") for k in model.state_dict())
    student_params = {id(p) for p in model.student.parameters()}
    assert {id(p) for p in model.parameters()} == student_params
    model.to(torch.float64)
    assert next(model.teacher.parameters()).dtype == torch.float64


def test_nst_term_equals_the_loss_on_the_tapped_features(teacher_file):
    model = build_distiller(teacher_file, distill=dict(taps=[("layer4", "layer4")], kd_loss=None)).eval()
    data = model.data_preprocessor(batch(), False)
    with torch.no_grad():
        losses = model.loss(data["inputs"], data["data_samples"])
        student = torch.nn.Sequential(*list(model.student.children())[:-2])(data["inputs"])
        teacher = torch.nn.Sequential(*list(model.teacher.children())[:-2])(data["inputs"])
    expected = model.distill_core.losses[0](student, teacher)
    torch.testing.assert_close(losses["loss_nst_layer4"], expected)
    assert loss_key("nst", tap_name("layer4.1.relu:input")) == "loss_nst_layer4_1_relu_in"


@pytest.mark.parametrize("fmt", ["torchvision", "mmpretrain", "nst_det", "ddp"])
def test_teacher_loads_from_every_supported_format(tmp_path, fmt):
    torch.manual_seed(2)
    reference = torchvision.models.resnet18(num_classes=3)
    sd = reference.state_dict()
    if fmt == "mmpretrain":
        sd = {"state_dict": {**{f"backbone.{k}": v for k, v in sd.items() if not k.startswith("fc.")},
                             **{f"head.{k}": v for k, v in sd.items() if k.startswith("fc.")}},
              "meta": {"mmpretrain_version": "1.2.0"}}
    elif fmt == "nst_det":
        sd = {"state_dict": {f"student.{k}": v for k, v in sd.items()}, "meta": {}}
    elif fmt == "ddp":
        sd = {f"module.{k}": v for k, v in sd.items()}
    torch.save(sd, tmp_path / "teacher.pth")
    model = torchvision.models.resnet18(num_classes=3)
    fmt_read = load_classifier_weights(model, tmp_path / "teacher.pth", "resnet18")
    assert fmt_read == ("torchvision" if fmt == "ddp" else fmt)
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_teacher_of_another_architecture_is_refused(tmp_path, teacher_file):
    with pytest.raises(NSTDetError, match=r"does not fit the resnet50 it is loaded into: \d+ of \d+ keys missing"):
        load_classifier_weights(torchvision.models.resnet50(num_classes=4), teacher_file, "resnet50")
    with pytest.raises(NSTDetError, match=r"shape mismatches: 'fc.weight \(file \(4, 512\), model \(10, 512\)\)'"):
        load_classifier_weights(torchvision.models.resnet34(num_classes=10), teacher_file, "resnet34")
    torch.save({"encoder.weight": torch.zeros(3)}, tmp_path / "other.pth")
    with pytest.raises(NSTDetError, match=r"other.pth \(torchvision format\) does not fit the resnet18 .* keys missing"
                                          r".*1 unexpected keys: 'encoder.weight'"):
        load_classifier_weights(torchvision.models.resnet18(), tmp_path / "other.pth", "resnet18")
    (tmp_path / "truncated.pth").write_bytes(teacher_file.read_bytes()[:1000])
    with pytest.raises(NSTDetError, match="not a readable PyTorch checkpoint"):
        load_classifier_weights(torchvision.models.resnet34(num_classes=4), tmp_path / "truncated.pth", "resnet34")
    with pytest.raises(NSTDetError, match="does not exist"):
        load_classifier_weights(torchvision.models.resnet34(), tmp_path / "missing.pth", "resnet34")


def test_malicious_teacher_checkpoint_is_refused_without_running_it(tmp_path):
    target = tmp_path / "pwned.txt"
    write_malicious_checkpoint(tmp_path / "evil.pth", target)
    with pytest.raises(NSTDetError, match=r"refers to io\.open, which no checkpoint needs"):
        load_classifier_weights(torchvision.models.resnet18(), tmp_path / "evil.pth", "resnet18")
    assert not target.exists()


def test_configuration_errors_are_clear(teacher_file):
    with pytest.raises(NSTDetError, match="need a teacher"):
        build_distiller(teacher_file, teacher=None)
    with pytest.raises(NSTDetError, match=r"model.student arch 'resnet19' has no MMDetection backbone to export to; "
                                          r"students: \['mobilenet_v2', 'resnet101'"):
        build_distiller(teacher_file, student=dict(arch="resnet19", num_classes=4))
    with pytest.raises(NSTDetError, match="unknown architecture 'resnet19'; choose a torchvision classification model"):
        build_distiller(teacher_file, teacher=dict(arch="resnet19", num_classes=4, checkpoint=str(teacher_file)))
    with pytest.raises(NSTDetError, match="teacher.checkpoint is not set"):
        build_distiller(teacher_file, teacher=dict(arch="resnet34", num_classes=4))


@pytest.mark.parametrize("former, new", [("taps", "distill.taps"), ("nst_loss", "distill.loss"),
                                         ("kd_loss", "distill.kd_loss")])
def test_former_argument_names_are_refused_naming_the_new_one(teacher_file, former, new):
    with pytest.raises(NSTDetError, match=rf"^ClassifierDistiller: `{former}` is now `{new}`"):
        build_distiller(teacher_file, **{former: None})


def test_the_default_loss_and_a_warmup_ramp(teacher_file):
    distill = dict(taps=[("layer4", "layer4")], kd_loss=None)
    implicit = MODELS.build(dict(type="ClassifierDistiller", student=dict(arch="resnet18", num_classes=4),
                                 teacher=dict(arch="resnet34", num_classes=4, checkpoint=str(teacher_file)),
                                 distill=distill))
    nst = implicit.distill_core.losses[0]
    assert (nst.kernel, nst.loss_weight) == ("poly", 50.0)  # detection's too
    full = build_distiller(teacher_file)
    ramped = build_distiller(teacher_file, distill=dict(warmup_iters=4))
    ramped.load_state_dict(full.state_dict())
    data = full.data_preprocessor(batch(), False)
    with torch.no_grad():
        expected, first = (m.loss(data["inputs"], data["data_samples"]) for m in (full, ramped))
    torch.testing.assert_close(first["loss_cls"], expected["loss_cls"])
    for key in ("loss_nst_layer4", "loss_kd"):
        torch.testing.assert_close(first[key], expected[key] / 4)  # iteration 0 of 4: a quarter


def test_export_loads_into_mmdet_resnet_with_no_missing_keys(tmp_path, teacher_file):
    """The export, read by mmdet's own Pretrained init, reproduces every student tensor."""
    from mmdet.models.backbones import ResNet

    model = build_distiller(teacher_file)
    model.train_step(batch(), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))  # move BN stats
    out = export_backbone(model.backbone_state_dict(), tmp_path / "backbone_resnet18.pth", {"arch": "resnet18"})
    exported = torch.load(out, weights_only=True)
    assert check_against_mmdet_backbone(exported, "resnet18") == ([], [])
    assert (tmp_path / "backbone_resnet18.json").is_file()

    backbone = ResNet(depth=18, init_cfg=dict(type="Pretrained", checkpoint=str(out)))
    backbone.init_weights()
    loaded = backbone.state_dict()
    assert set(loaded) == set(exported)
    for key, value in exported.items():
        assert torch.equal(loaded[key], value), key
    ResNet(depth=18).load_state_dict(exported, strict=True)


def test_export_refuses_a_classifier_head(tmp_path):
    with pytest.raises(NSTDetError, match="must not contain the classifier head"):
        export_backbone(torchvision.models.resnet18().state_dict(), tmp_path / "b.pth", {})
    assert not os.listdir(tmp_path)
