"""Channel-wise distillation (Shu et al., ICCV 2021): KL divergence of per-channel spatial distributions.

Transcribed from github.com/open-mmlab/mmrazor, ``mmrazor/models/losses/cwd.py``
(``ChannelWiseDivergence``, the implementation the authors' detection results are reported with)::

    N, C, H, W = preds_S.shape
    softmax_pred_T = F.softmax(preds_T.view(-1, W * H) / self.tau, dim=1)
    loss = torch.sum(softmax_pred_T * logsoftmax(preds_T.view(-1, W * H) / self.tau) -
                     softmax_pred_T * logsoftmax(preds_S.view(-1, W * H) / self.tau)) * (self.tau**2)
    loss = self.loss_weight * loss / (C * N)

Each channel's map, divided by the temperature τ, is turned into a distribution over its ``H·W``
positions (softmax); the loss is ``τ² · KL(teacher ‖ student)`` summed over channels and images and
divided by ``N·C``. Shapes must be equal (channel counts: the distillation core's ``adapt_channels``).
``tau`` and ``loss_weight`` default to 1, the class defaults there; the authors' FPN detection
configs (``cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py``, ``cwd_fpn_retina_...``) use ``tau=1,
loss_weight=10``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nst_det.losses.inputs import check_pair, compute_dtype
from nst_det.utils.errors import InvalidInputError


def cwd_loss(student: Tensor, teacher: Tensor, *, tau: float = 1.0, loss_weight: float = 1.0) -> Tensor:
    """``loss_weight · τ² / (N·C) · Σ_{n,c} KL(softmax(t_nc/τ) ‖ softmax(s_nc/τ))``; two ``(N, C, H, W)`` -> scalar.

    The softmax runs over each channel's ``H·W`` positions. The teacher is detached.
    """
    student, teacher = check_pair("cwd_loss", student, teacher)
    if not tau > 0:
        raise InvalidInputError(f"cwd_loss: `tau` must be positive, got {tau!r}")
    n, c = student.shape[:2]
    dtype = compute_dtype(student)
    with torch.autocast(device_type=student.device.type, enabled=False):
        log_p_s = F.log_softmax(student.to(dtype).flatten(2) / tau, dim=2)
        log_p_t = F.log_softmax(teacher.detach().to(dtype).flatten(2) / tau, dim=2)
        kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum()
        return kl * (tau ** 2) / (n * c) * loss_weight


class CWDLoss(nn.Module):
    """Module form of :func:`cwd_loss` (``dict(type='CWDLoss', tau=1.0, loss_weight=10.0)``)."""

    compares_channels = True  # channel c against channel c: equal widths (or the core's adapter)

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if not tau > 0:
            raise InvalidInputError(f"CWDLoss: `tau` must be positive, got {tau!r}")
        self.tau = tau
        self.loss_weight = loss_weight

    def forward(self, student: Tensor, teacher: Tensor) -> Tensor:
        """``(N, C, H, W)``, ``(N, C, H, W)`` -> scalar."""
        return cwd_loss(student, teacher, tau=self.tau, loss_weight=self.loss_weight)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, loss_weight={self.loss_weight}"
