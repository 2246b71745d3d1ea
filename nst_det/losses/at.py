"""Attention transfer (Zagoruyko & Komodakis, ICLR 2017), activation-based, p = 2.

Transcribed from the authors' code, github.com/szagoruyko/attention-transfer, ``utils.py``::

    def at(x):
        return F.normalize(x.pow(2).mean(1).view(x.size(0), -1))

    def at_loss(x, y):
        return (at(x) - at(y)).pow(2).mean()

An image's attention map is the channel mean of the squared activations, flattened over space and
L2-normalised (``F.normalize``: ``q / max(‖q‖, 1e-12)``); the loss is the mean over the batch and the
``H·W`` positions of the squared difference of the two maps. ``imagenet.py`` and ``cifar.py`` add
``β · Σ_groups at_loss`` to the (KD) objective, and the README runs both with ``--beta 1e+3``:
``ATLoss``'s ``loss_weight`` is that β, 1000 by default. Student and teacher may have different
channel counts (the maps average channels away); spatial sizes must be equal.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from nst_det.losses.inputs import check_pair, compute_dtype

AT_WEIGHT = 1000.0  # β of the authors' README commands (CIFAR and ImageNet)
AT_EPS = 1e-12      # F.normalize's default


def attention_map(x: Tensor, eps: float = AT_EPS) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, H·W)``: ``mean_c x²``, L2-normalised per image (``q / max(‖q‖, eps)``)."""
    q = x.pow(2).mean(1).flatten(1)
    return q / q.norm(dim=1, keepdim=True).clamp_min(eps)


def at_loss(student: Tensor, teacher: Tensor, *, loss_weight: float = 1.0) -> Tensor:
    """``loss_weight · mean_{b, hw} (at(student) − at(teacher))²``; ``(B, Cs, H, W)``, ``(B, Ct, H, W)`` -> scalar.

    The teacher is detached. Arithmetic in float32 (float64 stays float64), outside autocast.
    """
    student, teacher = check_pair("at_loss", student, teacher, channels=False)
    dtype = compute_dtype(student)
    with torch.autocast(device_type=student.device.type, enabled=False):
        diff = attention_map(student.to(dtype)) - attention_map(teacher.detach().to(dtype))
        return diff.pow(2).mean() * loss_weight


class ATLoss(nn.Module):
    """Module form of :func:`at_loss` (``dict(type='ATLoss')``); ``loss_weight`` is the authors' β."""

    compares_channels = False  # channel counts may differ: the core feeds it the student's own features

    def __init__(self, loss_weight: float = AT_WEIGHT) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: Tensor, teacher: Tensor) -> Tensor:
        """``(B, Cs, H, W)``, ``(B, Ct, H, W)`` -> scalar."""
        return at_loss(student, teacher, loss_weight=self.loss_weight)

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}"
