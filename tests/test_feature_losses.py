"""FitNet, AT, PKD and CWD against float64 transcriptions of their authors' published formulas.

Each reference below is written from the formula in the loss module's docstring (the authors' code named
there), with plain loops over images, channels and positions; none calls the module under test.
"""
from __future__ import annotations

import math

import pytest
import torch

from nst_det.losses import ATLoss, CWDLoss, FitNetLoss, PKDLoss, at_loss, cwd_loss, fitnet_loss, nst_loss, pkd_loss
from nst_det.utils.errors import InvalidInputError


def features(*shape: int, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64) * scale


# ----------------------------------------------------------------------------- references (float64, loops)
def reference_fitnet(regressed: torch.Tensor, hint: torch.Tensor) -> float:
    """HintCost.py: mean over images of Σ ½ (hint − output)² over every value of the image."""
    per_image = []
    for b in range(regressed.shape[0]):
        total = 0.0
        for value_r, value_h in zip(regressed[b].flatten().tolist(), hint[b].flatten().tolist()):
            total += 0.5 * (value_h - value_r) ** 2
        per_image.append(total)
    return sum(per_image) / len(per_image)


def reference_at(student: torch.Tensor, teacher: torch.Tensor) -> float:
    """utils.py: at(x) = normalize(mean_c x²) per image; at_loss = mean over images and positions of the squared
    difference."""
    def at(x: torch.Tensor, b: int) -> list[float]:
        channels, height, width = x.shape[1:]
        q = [sum(x[b, c, i, j].item() ** 2 for c in range(channels)) / channels
             for i in range(height) for j in range(width)]
        norm = max(math.sqrt(sum(v * v for v in q)), 1e-12)
        return [v / norm for v in q]
    total, count = 0.0, 0
    for b in range(student.shape[0]):
        for a_s, a_t in zip(at(student, b), at(teacher, b)):
            total += (a_s - a_t) ** 2
            count += 1
    return total / count


def reference_pkd(student: torch.Tensor, teacher: torch.Tensor) -> float:
    """pkd_loss.py: standardise each channel over (N, H, W) with the unbiased std + 1e-6; MSE / 2."""
    def standardised(x: torch.Tensor) -> dict:
        n, channels, height, width = x.shape
        out = {}
        for c in range(channels):
            values = [x[b, c, i, j].item() for b in range(n) for i in range(height) for j in range(width)]
            mean = sum(values) / len(values)
            std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
            for b in range(n):
                for i in range(height):
                    for j in range(width):
                        out[b, c, i, j] = (x[b, c, i, j].item() - mean) / (std + 1e-6)
        return out
    s, t = standardised(student), standardised(teacher)
    return sum((s[k] - t[k]) ** 2 for k in s) / len(s) / 2


def reference_cwd(student: torch.Tensor, teacher: torch.Tensor, tau: float) -> float:
    """cwd.py: per (image, channel) softmax over positions at temperature tau; τ² Σ KL(t‖s) / (N·C)."""
    n, channels = student.shape[:2]
    total = 0.0
    for b in range(n):
        for c in range(channels):
            s = [v / tau for v in student[b, c].flatten().tolist()]
            t = [v / tau for v in teacher[b, c].flatten().tolist()]
            log_z_s = math.log(sum(math.exp(v) for v in s))
            log_z_t = math.log(sum(math.exp(v) for v in t))
            for v_s, v_t in zip(s, t):
                p_t = math.exp(v_t - log_z_t)
                total += p_t * ((v_t - log_z_t) - (v_s - log_z_s))
    return total * tau ** 2 / (n * channels)


# ----------------------------------------------------------------------------- the losses match them
def test_fitnet_is_the_authors_hint_cost():
    regressed, hint = features(3, 4, 5, 6, seed=1), features(3, 4, 5, 6, seed=2)
    assert fitnet_loss(regressed, hint).item() == pytest.approx(reference_fitnet(regressed, hint), rel=1e-12)
    assert FitNetLoss(loss_weight=0.25)(regressed, hint).item() == pytest.approx(
        0.25 * reference_fitnet(regressed, hint), rel=1e-12)


@pytest.mark.parametrize("channels", [(4, 4), (3, 7)])
def test_at_is_the_authors_attention_transfer(channels):
    student, teacher = features(2, channels[0], 5, 4, seed=3), features(2, channels[1], 5, 4, seed=4)
    assert at_loss(student, teacher).item() == pytest.approx(reference_at(student, teacher), rel=1e-12)
    # ATLoss's default weight is the authors' β = 1000
    assert ATLoss()(student, teacher).item() == pytest.approx(1000 * reference_at(student, teacher), rel=1e-12)


def test_pkd_is_the_authors_pearson_imitation():
    student, teacher = features(3, 4, 5, 6, seed=5, scale=3.0), features(3, 4, 5, 6, seed=6) + 2.0
    assert pkd_loss(student, teacher).item() == pytest.approx(reference_pkd(student, teacher), rel=1e-10)
    assert PKDLoss(loss_weight=6.0)(student, teacher).item() == pytest.approx(6 * reference_pkd(student, teacher),
                                                                             rel=1e-10)
    # per channel it is 1 - r (Pearson): a student that is an affine copy of the teacher costs nothing
    assert pkd_loss(3.0 * teacher - 1.0, teacher).item() < 1e-9


def test_pkd_resizes_the_student_to_the_teacher():
    student, teacher = features(2, 3, 8, 8, seed=7), features(2, 3, 4, 4, seed=8)
    resized = torch.nn.functional.interpolate(student, (4, 4), mode="bilinear")
    assert pkd_loss(student, teacher).item() == pytest.approx(reference_pkd(resized, teacher), rel=1e-10)


@pytest.mark.parametrize("tau", [1.0, 4.0])
def test_cwd_is_the_authors_channel_wise_divergence(tau):
    student, teacher = features(2, 3, 4, 5, seed=9, scale=2.0), features(2, 3, 4, 5, seed=10, scale=2.0)
    assert cwd_loss(student, teacher, tau=tau).item() == pytest.approx(reference_cwd(student, teacher, tau), rel=1e-10)
    assert CWDLoss(tau=tau, loss_weight=10.0)(student, teacher).item() == pytest.approx(
        10 * reference_cwd(student, teacher, tau), rel=1e-10)
    assert cwd_loss(teacher.clone(), teacher, tau=tau).abs().item() < 1e-12


# ----------------------------------------------------------------------------- behaviour every loss shares
LOSSES = {
    "fitnet": (lambda s, t: fitnet_loss(s, t), True),
    "at": (lambda s, t: at_loss(s, t), False),
    "pkd": (lambda s, t: pkd_loss(s, t), True),
    "cwd": (lambda s, t: cwd_loss(s, t, tau=2.0), True),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradients_reach_the_student_only_and_pass_gradcheck(name):
    fn, _ = LOSSES[name]
    student = features(2, 3, 4, 4, seed=11).requires_grad_()
    teacher = features(2, 3, 4, 4, seed=12).requires_grad_()
    fn(student, teacher).backward()
    assert teacher.grad is None and student.grad.abs().sum() > 0
    assert torch.autograd.gradcheck(lambda s: fn(s, teacher.detach()), (student.detach().requires_grad_(),))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_half_precision_features_give_the_float32_value(name):
    fn, _ = LOSSES[name]
    student, teacher = features(2, 3, 4, 4, seed=13).half(), features(2, 3, 4, 4, seed=14).half()
    got = fn(student, teacher)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, fn(student.float(), teacher.float()))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_bad_input_is_one_clear_line(name):
    fn, same_channels = LOSSES[name]
    with pytest.raises(InvalidInputError, match="`student` must be a 4-D feature map"):
        fn(torch.randn(2, 3, 4), torch.randn(2, 3, 4, 4))
    with pytest.raises(InvalidInputError, match="batch sizes differ"):
        fn(torch.randn(2, 3, 4, 4), torch.randn(3, 3, 4, 4))
    if same_channels:
        with pytest.raises(InvalidInputError, match="channel counts differ.*adapt_channels=True"):
            fn(torch.randn(2, 3, 4, 4), torch.randn(2, 5, 4, 4))
    else:
        fn(torch.randn(2, 3, 4, 4), torch.randn(2, 5, 4, 4))


def test_each_module_says_whether_it_compares_channels_one_to_one():
    from nst_det.losses import NSTLoss

    assert {cls.__name__: cls.compares_channels for cls in (NSTLoss, ATLoss, FitNetLoss, PKDLoss, CWDLoss)} == \
        dict(NSTLoss=False, ATLoss=False, FitNetLoss=True, PKDLoss=True, CWDLoss=True)
    assert FitNetLoss.needs_regressor and not hasattr(PKDLoss, "needs_regressor")
    # NST's default is the released code's weight, as the module form says
    s, t = features(2, 3, 4, 4, seed=15), features(2, 5, 4, 4, seed=16)
    assert NSTLoss()(s, t).item() == pytest.approx(nst_loss(s, t, loss_weight=50.0).item(), rel=1e-12)
