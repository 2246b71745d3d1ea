"""The official NST setting reproduces the authors' released code (TuSimple/neuron-selectivity-transfer).

The released objective, transcribed in float64 below from ``symbol/transfer.py`` (``mmd_poly``),
``config/cfgs.py`` (``kt_weight = 50``, poly kernel with ``c = 0``) and MXNet's ``Module``:

* ``L2Normalization(eps=1e-10, mode='spatial')``: each channel map ``x / sqrt(Σ_hw x² + 1e-10)``,
  reshaped to ``(B, C, HW)``;
* ``mean(square(batch_dot(S, Sᵀ) + c), axis=(1, 2))``: per image, the mean over the ``Cs×Cs``
  matrix; likewise ``Cs×Ct`` for ``S·Tᵀ``; ``mmd_diff = student term − 2 · cross term``, shape ``(B,)``
  (the teacher–teacher term of MMD² is absent: it is constant for the student);
* ``MakeLoss(mmd_diff, grad_scale=50)``: ``normalization='null'`` sends gradient 50 into every
  image's term, i.e. the gradient of ``50 · Σ_b mmd_diff_b``;
* ``Module.init_optimizer``: ``rescale_grad = 1 / batch_size``, for this term as for the CE.

So the update direction is the gradient of ``50 · mean_b mmd_diff_b`` (:func:`released_objective`).
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from nst_det.losses.nst import NSTLoss, nst_loss
from nst_det.registry import MODELS

ROOT = Path(__file__).resolve().parents[1]
KT_WEIGHT = 50.0
RELEASED_EPS = 1e-10


def released_objective(student: torch.Tensor, teacher: torch.Tensor, c: float = 0.0,
                       kt_weight: float = KT_WEIGHT) -> torch.Tensor:
    """``kt_weight · mean_b [mean((S Sᵀ + c)²) − 2 · mean((S Tᵀ + c)²)]`` in float64 (module docstring)."""
    def l2_spatial(x: torch.Tensor) -> torch.Tensor:
        flat = x.double().flatten(2)
        return flat / torch.sqrt(flat.square().sum(2, keepdim=True) + RELEASED_EPS)

    s, t = l2_spatial(student), l2_spatial(teacher.detach())
    student_term = (torch.bmm(s, s.transpose(1, 2)) + c).square().mean((1, 2))
    cross_term = (torch.bmm(s, t.transpose(1, 2)) + c).square().mean((1, 2))
    return kt_weight * (student_term - 2.0 * cross_term).mean()


def teacher_term(teacher: torch.Tensor) -> torch.Tensor:
    """``mean_b mean((T Tᵀ)²)``: the constant the released objective leaves out of MMD²."""
    flat = teacher.double().flatten(2)
    t = flat / torch.sqrt(flat.square().sum(2, keepdim=True) + RELEASED_EPS)
    return torch.bmm(t, t.transpose(1, 2)).square().mean((1, 2)).mean()


def gradient(fn, student: torch.Tensor) -> torch.Tensor:
    x = student.detach().clone().double().requires_grad_()
    fn(x).backward()
    return x.grad


def loss_from(config: str, *keys: str) -> NSTLoss:
    cfg = Config.fromfile(str(ROOT / "configs" / config))
    node = cfg
    for key in keys:
        node = node[key]
    loss = MODELS.build(node)
    assert isinstance(loss, NSTLoss)
    return loss


# the configs with the released loss, the path to their NST loss config, feature shapes (student, teacher) where
# that loss is applied, and their weight relative to the released one: the ImageNet configs claim the official
# weight; the FPN configs the released loss at the weight tools/sweep_distill.py chose (10 of 50 per level:
# configs/_base_/nst_fpn_distill.py; the paper and the released code have no FPN NST)
OFFICIAL = [
    ("distill/imagenet/nst/nst_r101_r18_100e_imagenet.py", ("model", "distill", "loss"), (4, 512, 7, 7),
     (4, 2048, 7, 7), 1.0),
    ("distill/imagenet/nst/nst_r101_r18_nag-b512-100e_imagenet.py", ("model", "distill", "loss"),
     (4, 512, 7, 7), (4, 2048, 7, 7), 1.0),
    # FPN sizes: HW > C, so the C×C Gram form is used (layer4 above: the HW×HW form)
    ("faster_rcnn_nst.py", ("model", "distill", "loss"), (2, 256, 20, 24), (2, 256, 20, 24), 0.2),
    ("distill/mmdet/nst/nst-fpn_frcnn-r101_frcnn-r18_1x_coco.py", ("model", "distill", "loss"), (2, 256, 20, 24),
     (2, 256, 20, 24), 0.2),
    ("distill/mmdet/nst/nst-fpn_retina-r50_retina-r18_1x_voc0712.py", ("model", "distill", "loss"),
     (2, 256, 20, 24), (2, 256, 20, 24), 0.2),
]


@pytest.mark.parametrize("config, keys, student_shape, teacher_shape, scale", OFFICIAL, ids=[c[0] for c in OFFICIAL])
def test_official_config_gradient_matches_the_released_code(config, keys, student_shape, teacher_shape, scale):
    loss = loss_from(config, *keys)
    gen = torch.Generator().manual_seed(0)
    # final-stage pre-activation features: signed; a few channels far larger than others
    student = torch.randn(student_shape, generator=gen, dtype=torch.float64) * torch.rand(
        student_shape[:2] + (1, 1), generator=gen, dtype=torch.float64).mul(3)
    teacher = torch.randn(teacher_shape, generator=gen, dtype=torch.float64)

    ours = gradient(lambda x: loss(x, teacher), student)
    released = scale * gradient(lambda x: released_objective(x, teacher), student)
    assert released.abs().max() > 0
    torch.testing.assert_close(ours, released, rtol=1e-6, atol=1e-6 * released.abs().max().item())
    # the value is the true MMD²: the released objective plus the constant teacher–teacher term
    torch.testing.assert_close(loss(student, teacher),
                               scale * (released_objective(student, teacher) + KT_WEIGHT * teacher_term(teacher)),
                               rtol=1e-9, atol=0.0)


def test_float32_features_give_the_released_gradient_to_float32_accuracy():
    loss = loss_from("distill/imagenet/nst/nst_r101_r18_100e_imagenet.py", "model", "distill", "loss")
    gen = torch.Generator().manual_seed(1)
    student, teacher = torch.randn(8, 512, 7, 7, generator=gen), torch.randn(8, 2048, 7, 7, generator=gen)
    x = student.clone().requires_grad_()
    loss(x, teacher).backward()
    released = gradient(lambda s: released_objective(s, teacher), student)
    torch.testing.assert_close(x.grad.double(), released, rtol=1e-4, atol=1e-4 * released.abs().max().item())


def test_half_the_weight_is_not_the_released_gradient():
    """The test above can fail: λ/2·MMD² with λ = 50 (the former convention) is off by exactly 2x."""
    gen = torch.Generator().manual_seed(2)
    student = torch.randn(2, 16, 5, 5, generator=gen, dtype=torch.float64)
    teacher = torch.randn(2, 32, 5, 5, generator=gen, dtype=torch.float64)
    released = gradient(lambda x: released_objective(x, teacher), student)
    halved = gradient(lambda x: nst_loss(x, teacher, "poly", loss_weight=KT_WEIGHT / 2), student)
    torch.testing.assert_close(2 * halved, released, rtol=1e-9, atol=0.0)
    assert not torch.allclose(halved, released, rtol=0.1)


@pytest.mark.parametrize("kernel", ["poly", "linear", "gaussian"])
def test_an_all_zero_channel_has_a_finite_bounded_gradient(kernel):
    gen = torch.Generator().manual_seed(3)
    student = torch.randn(2, 6, 4, 4, generator=gen, dtype=torch.float64)
    student[:, 2] = 0.0  # e.g. a channel every ReLU switched off
    teacher = torch.randn(2, 9, 4, 4, generator=gen, dtype=torch.float64)
    grad = gradient(lambda x: nst_loss(x, teacher, kernel, loss_weight=KT_WEIGHT), student)
    assert torch.isfinite(grad).all()
    if kernel == "poly":
        # c = 0: nothing reaches a zero map through (s_i·s_j)², exactly as in the released code
        assert grad[:, 2].abs().max() == 0
        torch.testing.assert_close(grad, gradient(lambda x: released_objective(x, teacher), student),
                                   rtol=1e-9, atol=1e-12)
    if kernel == "linear":
        # MMD² = ‖s̄ − t̄‖², so ∂L/∂s_i = w/B · 2(s̄ − t̄)/Cs reaches every channel's normalised map; at x = 0
        # the normalisation's Jacobian is I / sqrt(eps): the gradient is 1e5 times that, not 1e12 times
        def unit(x):
            flat = x.flatten(2)
            return flat / torch.sqrt(flat.square().sum(2, keepdim=True) + RELEASED_EPS)
        batch, channels = student.shape[:2]
        upstream = KT_WEIGHT / batch * 2 * (unit(student).mean(1) - unit(teacher).mean(1)) / channels
        torch.testing.assert_close(grad[:, 2].flatten(1), upstream / RELEASED_EPS ** 0.5, rtol=1e-9, atol=0.0)
        assert grad.abs().max() < 1e5 * KT_WEIGHT


def test_the_released_eps_is_the_default():
    assert NSTLoss().mmd_kwargs["eps"] == RELEASED_EPS
    tiny = torch.full((1, 1, 2, 2), 1e-6, dtype=torch.float64)  # Σx² = 4e-12, far below eps
    out = nst_loss(tiny, torch.ones(1, 1, 2, 2, dtype=torch.float64), "linear", reduction="none")
    s, t = 1e-6 / (4e-12 + RELEASED_EPS) ** 0.5, 1 / (4 + RELEASED_EPS) ** 0.5
    torch.testing.assert_close(out, torch.tensor([4 * (s - t) ** 2], dtype=torch.float64), rtol=1e-9, atol=0.0)
