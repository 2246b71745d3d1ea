"""FitNets hints (Romero et al., ICLR 2015): the student's guided layer, through a regressor, regresses the
teacher's hint layer.

Transcribed from the authors' code, github.com/adri-romsor/FitNets, ``costs/HintCost.py``
(``HintCost.expr``, the linear case)::

    cost = 0.5*(hint - student_output)**2
    cost = T.sum(cost, axis=1)
    return T.mean(cost)

with ``student_output`` the regressor's output on the guided layer and ``hint`` flattened to
``(batch, C·H·W)``: per image, half the squared distance ``½ ‖u_h − r(v_g)‖²`` (the paper's
``L_HT``), then the mean over the batch. The regressor ``r`` is the distillation core's 1×1 conv adapter
(:mod:`nst_det.distill.core`), which ``FitNetLoss`` asks for on every pair (``needs_regressor``), so
this module receives ``r(v_g)`` and the hint, of equal shapes. The authors train the hint stage with
this cost alone (``loss_weight=1``, the default); used beside the cross-entropy its weight is a
choice of the config.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from nst_det.losses.inputs import check_pair, compute_dtype


def fitnet_loss(regressed: Tensor, hint: Tensor, *, loss_weight: float = 1.0) -> Tensor:
    """``loss_weight · mean_b ½ Σ_{c,h,w} (hint − regressed)²``; two ``(B, C, H, W)`` maps -> scalar.

    Args:
        regressed: the student's guided-layer features after the regressor; gradients flow into it.
        hint: the teacher's hint-layer features, detached.
        loss_weight: multiplies the loss.
    """
    regressed, hint = check_pair("fitnet_loss", regressed, hint)
    dtype = compute_dtype(regressed)
    with torch.autocast(device_type=regressed.device.type, enabled=False):
        diff = hint.detach().to(dtype) - regressed.to(dtype)
        return (0.5 * diff.pow(2).flatten(1).sum(1)).mean() * loss_weight


class FitNetLoss(nn.Module):
    """Module form of :func:`fitnet_loss` (``dict(type='FitNetLoss')``)."""

    compares_channels = True  # the regressor's output against the hint, channel by channel
    needs_regressor = True    # the core builds the 1x1 regressor on every pair, even at equal widths

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, regressed: Tensor, hint: Tensor) -> Tensor:
        """``(B, C, H, W)``, ``(B, C, H, W)`` -> scalar."""
        return fitnet_loss(regressed, hint, loss_weight=self.loss_weight)

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}"
