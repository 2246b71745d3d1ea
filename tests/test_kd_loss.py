"""KD loss against a float64 reference; registry builds of both losses."""
import pytest
import torch

from nst_det.losses import KDLoss, NSTLoss, kd_loss, nst_loss
from nst_det.registry import MODELS
from nst_det.utils.errors import InvalidInputError


def reference_kd(student, teacher, temperature):
    """T² · mean_n Σ_k p_t log(p_t / p_s), straight from the definition in float64."""
    p_s = torch.softmax(student.double() / temperature, 1)
    p_t = torch.softmax(teacher.double() / temperature, 1)
    return temperature ** 2 * (p_t * (p_t.log() - p_s.log())).sum(1).mean()


@pytest.mark.parametrize("temperature", [1.0, 4.0, 10.0])
def test_kd_matches_reference(temperature):
    gen = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(6, 10, generator=gen) * 3, torch.randn(6, 10, generator=gen) * 3
    got = kd_loss(student, teacher, temperature)
    torch.testing.assert_close(got.double(), reference_kd(student, teacher, temperature), rtol=1e-5, atol=1e-7)
    assert kd_loss(student, student.clone(), temperature).abs() < 1e-6


def test_kd_gradient_and_weight():
    student = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    teacher = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: kd_loss(s, teacher, 4.0, loss_weight=0.5), (student,))
    kd_loss(student, teacher, 4.0).backward()
    assert teacher.grad is None
    torch.testing.assert_close(kd_loss(student, teacher, 4.0, loss_weight=2.0),
                               2.0 * kd_loss(student, teacher, 4.0))
    assert kd_loss(student, teacher, 4.0, reduction="none").shape == (4,)


@pytest.mark.parametrize("call, message", [
    (lambda: kd_loss(torch.randn(4, 5, 1), torch.randn(4, 5)), "`student_logits` must be a 2-D"),
    (lambda: kd_loss(torch.randn(4, 5), torch.randn(4, 6)), "logits differ in shape"),
    (lambda: kd_loss(torch.randn(4, 5), torch.randn(4, 5), 0.0), "`temperature` must be positive"),
    (lambda: KDLoss(reduction="avg"), "unknown reduction"),
])
def test_kd_bad_input(call, message):
    with pytest.raises(InvalidInputError, match=message):
        call()


def test_losses_build_from_the_mmdet_registry():
    nst = MODELS.build(dict(type="NSTLoss", kernel="gaussian", loss_weight=50.0))
    kd = MODELS.build(dict(type="KDLoss", temperature=4.0))
    assert isinstance(nst, NSTLoss) and isinstance(kd, KDLoss)
    s, t = torch.randn(2, 4, 3, 3), torch.randn(2, 6, 3, 3)
    torch.testing.assert_close(nst(s, t), nst_loss(s, t, "gaussian", loss_weight=50.0))
    logits_s, logits_t = torch.randn(3, 7), torch.randn(3, 7)
    torch.testing.assert_close(kd(logits_s, logits_t), kd_loss(logits_s, logits_t, 4.0))
