"""Students beyond ResNet-18 and teachers beyond ResNets (nst_det/pretrain/students.py, classifiers.py):
each student's export loads strictly into its mmdet backbone and computes the same features."""
from __future__ import annotations

import pytest
import torch
import torchvision
from mmengine.optim import OptimWrapper

from nst_det.distill import loss_key
from nst_det.pretrain import students
from nst_det.pretrain.classifiers import build_classifier
from nst_det.pretrain.export import export_backbone
from nst_det.pretrain.models import tap_name
from nst_det.pretrain.students import STUDENTS, build_mmdet_backbone, check_against_mmdet_backbone, student_backbone
from nst_det.registry import MODELS
from nst_det.taps import FeatureTaps
from nst_det.utils.errors import InvalidInputError, NSTDetError

NEW_STUDENTS = ("resnet18", "resnet34", "resnet50", "mobilenet_v2")
FINAL_CHANNELS = {"resnet18": 512, "resnet34": 512, "resnet50": 2048, "mobilenet_v2": 1280}


def randomised(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` in eval mode with random BN statistics and affine terms (a stand-in for trained weights)."""
    gen = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            for t in (module.weight, module.bias, module.running_mean):
                t.data.copy_(torch.randn(t.shape, generator=gen) * 0.2 + (1.0 if t is module.weight else 0.0))
            module.running_var.data.copy_(torch.rand(module.running_var.shape, generator=gen) + 0.5)
    return model.eval()


@pytest.mark.parametrize("arch", NEW_STUDENTS)
def test_export_loads_strictly_into_the_mmdet_backbone(arch, tmp_path):
    torch.manual_seed(0)
    student = build_classifier(arch, 7)
    out = export_backbone(student_backbone(student.state_dict(), arch), tmp_path / f"backbone_{arch}.pth",
                          {"arch": arch})
    exported = torch.load(out, weights_only=True)
    assert check_against_mmdet_backbone(exported, arch) == ([], [])
    backbone = build_mmdet_backbone(arch, init_cfg=dict(type="Pretrained", checkpoint=str(out)))
    backbone.init_weights()  # mmdet's own Pretrained init reads the file
    assert set(backbone.state_dict()) == set(exported)
    for key, value in exported.items():
        assert torch.equal(backbone.state_dict()[key], value), key
    build_mmdet_backbone(arch).load_state_dict(exported, strict=True)


def stage_outputs(arch: str, model: torch.nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
    """torchvision's features at the ends of mmdet's default ``out_indices`` stages."""
    if arch == "resnet50":
        x = model.maxpool(model.relu(model.bn1(model.conv1(images))))
        outs = []
        for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
            x = layer(x)
            outs.append(x)
        return outs
    # mmdet MobileNetV2 out_indices (1, 2, 4, 7): the ends of layer2, layer3, layer5 and conv2
    return [model.features[:end](images) for end in (4, 7, 14, 19)]


@pytest.mark.parametrize("arch", ["resnet50", "mobilenet_v2"])
def test_the_mmdet_backbone_computes_the_torchvision_features(arch):
    """The mapping is proven on values: same weights, eval mode, the same feature maps at every stage."""
    torch.manual_seed(1)
    student = randomised(build_classifier(arch, 5))
    backbone = build_mmdet_backbone(arch)
    backbone.load_state_dict(student_backbone(student.state_dict(), arch), strict=True)
    backbone.eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = stage_outputs(arch, student, images), backbone(images)
    assert len(got) == len(expected) == 4
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-4)


def test_the_mobilenet_v2_mapping_covers_both_layouts_one_to_one():
    torchvision_modules = {n for n, m in torchvision.models.mobilenet_v2().features.named_modules(prefix="features")
                           if isinstance(m, (torch.nn.Conv2d, torch.nn.BatchNorm2d))}
    mmdet_modules = {n for n, m in build_mmdet_backbone("mobilenet_v2").named_modules()
                     if isinstance(m, (torch.nn.Conv2d, torch.nn.BatchNorm2d))}
    mapping = students.MOBILENET_V2_MODULES
    assert set(mapping) == torchvision_modules
    assert set(mapping.values()) == mmdet_modules
    assert mapping["features.0.0"] == "conv1.conv"
    assert mapping["features.1.conv.1"] == "layer1.0.linear_conv.conv"
    assert mapping["features.2.conv.3"] == "layer2.0.linear_conv.bn"
    assert mapping["features.18.1"] == "conv2.bn"


@pytest.mark.parametrize("arch", NEW_STUDENTS)
def test_the_default_tap_is_the_final_pre_activation(arch):
    model = build_classifier(arch, 3).eval()
    tap = STUDENTS[arch].final_tap
    with FeatureTaps(model, [tap]) as taps, torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
        feature = taps[tap]
    assert feature.shape == (1, FINAL_CHANNELS[arch], 2, 2)  # stride 32
    assert feature.min() < 0  # before the activation


def test_a_missing_tap_names_what_exists():
    with pytest.raises(InvalidInputError, match=r"^tap 'features.18.3:input': MobileNetV2 has no submodule "
                                                r"'features.18.3': 'features.18' has children \['0', '1', '2'\]$"):
        FeatureTaps(build_classifier("mobilenet_v2", 3), ["features.18.3:input"])
    with pytest.raises(InvalidInputError, match=r"ResNet has no submodule 'layer5.0': its top level has children "
                                                r"\['conv1', 'bn1', 'relu', 'maxpool', 'layer1'"):
        FeatureTaps(build_classifier("resnet50", 3), ["layer5.0"])


# ----------------------------------------------------------------------------- teachers, class counts
def teacher_file(tmp_path, arch: str, num_classes: int):
    torch.manual_seed(3)
    path = tmp_path / f"{arch}_{num_classes}.pth"
    torch.save(build_classifier(arch, num_classes).state_dict(), path)
    return str(path)


def distiller(student: str, teacher: str, tap_pair: tuple[str, str], path: str, student_classes: int = 4,
              teacher_classes: int = 4, kd: bool = False):
    return MODELS.build(dict(
        type="ClassifierDistiller", student=dict(arch=student, num_classes=student_classes),
        teacher=dict(arch=teacher, num_classes=teacher_classes, checkpoint=path),
        distill=dict(taps=[tap_pair], kd_loss=dict(type="KDLoss", temperature=4.0) if kd else None)))


@pytest.mark.parametrize("student, teacher, teacher_tap", [
    ("mobilenet_v2", "efficientnet_b0", "features.8.2:input"),       # Conv-BN-SiLU 320 -> 1280
    ("resnet18", "mobilenet_v3_large", "features.16.2:input"),       # Conv-BN-Hardswish 160 -> 960
])
def test_any_torchvision_teacher_with_another_class_count_when_kd_is_off(tmp_path, student, teacher, teacher_tap):
    """NST needs no classifier: a 10-class teacher teaches a 4-class student through named taps."""
    model = distiller(student, teacher, (STUDENTS[student].final_tap, teacher_tap),
                      teacher_file(tmp_path, teacher, 10), teacher_classes=10)
    model.train()
    images, labels = torch.randn(2, 3, 64, 64), torch.tensor([0, 3])
    log_vars = model.train_step(dict(inputs=images, data_samples=labels),
                                OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    assert set(log_vars) == {"loss", "loss_cls", loss_key("nst", tap_name(STUDENTS[student].final_tap))}
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())


def test_kd_refuses_differing_class_counts_in_one_line(tmp_path):
    path = teacher_file(tmp_path, "resnet18", 10)
    with pytest.raises(NSTDetError, match=r"^distill.kd_loss compares logits, but the teacher has 10 classes and the "
                                          r"student 4; give both the same num_classes or turn KD off"):
        distiller("resnet18", "resnet18", ("layer4", "layer4"), path, teacher_classes=10, kd=True)
    model = distiller("resnet18", "resnet18", ("layer4", "layer4"), path, 10, 10, kd=True)
    assert model.distill_core.kd_loss is not None
