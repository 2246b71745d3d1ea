"""The distillation losses read nothing back from the device: no ``.item()``, ``.tolist()``, ``bool(tensor)``...

On a GPU each such read stalls the host until the device catches up (``_check_finite`` used to do
it on every NST call, five times per detection iteration). On the CPU the same reads are visible
as calls of the tensor's conversion methods, which :func:`host_reads` records.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import pytest
import torch
import torchvision

from nst_det.losses import KDLoss, NSTLoss
from nst_det.registry import MODELS

CONVERSIONS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__")


@contextlib.contextmanager
def host_reads() -> Iterator[list[str]]:
    """Record every tensor -> Python conversion made inside the block."""
    seen: list[str] = []
    originals = {name: getattr(torch.Tensor, name) for name in CONVERSIONS}

    def recording(name: str):
        def method(self, *args, **kwargs):
            seen.append(name)
            return originals[name](self, *args, **kwargs)
        return method

    for name in CONVERSIONS:
        setattr(torch.Tensor, name, recording(name))
    try:
        yield seen
    finally:
        for name, method in originals.items():
            setattr(torch.Tensor, name, method)


def test_the_recorder_sees_a_host_read():
    with host_reads() as seen:
        NSTLoss(check_finite=True)(torch.randn(2, 4, 3, 3), torch.randn(2, 5, 3, 3))
    assert seen == ["tolist"]


@pytest.mark.parametrize("kernel", ["poly", "linear", "gaussian"])
@pytest.mark.parametrize("gram", ["channel", "spatial"])
def test_nst_loss_forward_and_backward_read_nothing_back(kernel, gram):
    student = torch.randn(4, 16, 6, 5, requires_grad=True)
    teacher = torch.randn(4, 32, 12, 10)
    with host_reads() as seen:
        NSTLoss(kernel=kernel, gram=gram, loss_weight=50.0)(student, teacher).backward()
        KDLoss()(torch.randn(4, 10, requires_grad=True), torch.randn(4, 10)).backward()
    assert seen == []


def test_the_imagenet_distillation_step_reads_nothing_back(tmp_path):
    torch.save(torchvision.models.resnet34(num_classes=4).state_dict(), tmp_path / "teacher.pth")
    model = MODELS.build(dict(type="ClassifierDistiller", student=dict(arch="resnet18", num_classes=4),
                              teacher=dict(arch="resnet34", num_classes=4, checkpoint=str(tmp_path / "teacher.pth")),
                              distill=dict(taps=[("layer4.1.relu:input", "layer4.2.relu:input"), ("layer3", "layer3")],
                                           loss=dict(type="NSTLoss", loss_weight=50.0),
                                           kd_loss=dict(type="KDLoss")))).train()
    inputs, labels = torch.randn(2, 3, 64, 64), torch.tensor([0, 3])
    with host_reads() as seen:
        losses = model(inputs, labels, mode="loss")
        sum(losses.values()).backward()
    assert seen == [] and set(losses) == {"loss_cls", "loss_nst_layer4_1_relu_in", "loss_nst_layer3", "loss_kd"}


def test_fpn_distillation_on_valid_regions_reads_nothing_back():
    from nst_det.det.regions import valid_region_loss

    student, teacher = torch.randn(3, 8, 10, 12, requires_grad=True), torch.randn(3, 16, 10, 12)
    with host_reads() as seen:  # three images, two valid sizes: a group and a single image
        valid_region_loss(NSTLoss(loss_weight=50.0), student, teacher, [(10, 12), (7, 9), (10, 12)]).backward()
    assert seen == []
