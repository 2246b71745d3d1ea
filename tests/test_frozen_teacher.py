"""One frozen-teacher mechanism (nst_det/distill/teacher.py), shared by both distillers."""
from __future__ import annotations

import torch
from torch import nn

from nst_det.det import NSTDistillDetector
from nst_det.distill import FrozenTeacherMixin
from nst_det.pretrain import ClassifierDistiller


class Toy(FrozenTeacherMixin, nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.student = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
        self.set_teacher(nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8), nn.Dropout(0.5)))


def test_both_distillers_use_the_mixin():
    assert issubclass(ClassifierDistiller, FrozenTeacherMixin) and issubclass(NSTDistillDetector, FrozenTeacherMixin)


def test_the_teacher_is_a_frozen_plain_attribute_that_moves_along():
    model = Toy()
    assert not any(k.startswith("teacher") for k in model.state_dict())
    assert {id(p) for p in model.parameters()} == {id(p) for p in model.student.parameters()}
    assert not any(p.requires_grad for p in model.teacher.parameters())
    model.train()
    assert model.training and model.student.training and not model.teacher.training
    assert not any(m.training for m in model.teacher.modules())
    model.to(torch.float64)
    assert next(model.teacher.parameters()).dtype == torch.float64


def test_run_teacher_builds_no_graph():
    model = Toy()
    out = model.run_teacher(lambda teacher: teacher(torch.randn(1, 3, 4, 4, dtype=torch.float32)))
    assert not out.requires_grad and out.grad_fn is None


def test_a_distiller_without_teacher():
    model = Toy()
    model.set_teacher(None)
    assert model.teacher is None
    model.train()
    model.to(torch.float64)
