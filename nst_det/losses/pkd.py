"""PKD (Cao et al., NeurIPS 2022): feature imitation with the Pearson correlation coefficient.

Transcribed from the authors' implementation in OpenMMLab's model-compression toolbox,
github.com/open-mmlab/mmrazor, ``mmrazor/models/losses/pkd_loss.py`` (``PKDLoss``)::

    def norm(feat):                      # (N, C, H, W)
        feat = feat.permute(1, 0, 2, 3).reshape(C, -1)
        mean = feat.mean(dim=-1, keepdim=True)
        std = feat.std(dim=-1, keepdim=True)
        feat = (feat - mean) / (std + 1e-6)
        ...
    loss += F.mse_loss(norm(pred_S), norm(pred_T)) / 2
    return loss * self.loss_weight

Each channel is standardised over the whole batch and its positions (``N·H·W`` values, unbiased
standard deviation), then half the mean squared error of the standardised maps is taken: per channel
that is ``1 − r`` with ``r`` the Pearson correlation of the two channels. A student map of another
spatial size is resized bilinearly to the teacher's first (``resize_stu=True`` there). Channel counts
must be equal (the distillation core's ``adapt_channels``). ``loss_weight`` defaults to 1, the
class default there; the authors' FPN configs use 6 (Faster R-CNN) and 10 (RetinaNet, FCOS).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nst_det.losses.inputs import check_pair, compute_dtype

PKD_EPS = 1e-6  # added to the standard deviation, as there


def channel_standardize(x: Tensor, eps: float = PKD_EPS) -> Tensor:
    """``(N, C, H, W)``: each channel minus its mean, over its std (unbiased) + ``eps``, over ``N·H·W`` values."""
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    std = x.std(dim=(0, 2, 3), keepdim=True)
    return (x - mean) / (std + eps)


def pkd_loss(student: Tensor, teacher: Tensor, *, loss_weight: float = 1.0) -> Tensor:
    """``loss_weight · ½ · mean((std(student) − std(teacher))²)``; ``(N, C, Hs, Ws)``, ``(N, C, Ht, Wt)`` -> scalar.

    ``std`` standardises each channel over the batch (:func:`channel_standardize`); the student is resized
    bilinearly to the teacher's spatial size when they differ. The teacher is detached.
    """
    student, teacher = check_pair("pkd_loss", student, teacher, spatial=False)
    dtype = compute_dtype(student)
    with torch.autocast(device_type=student.device.type, enabled=False):
        student, teacher = student.to(dtype), teacher.detach().to(dtype)
        if student.shape[-2:] != teacher.shape[-2:]:
            student = F.interpolate(student, teacher.shape[-2:], mode="bilinear")
        diff = channel_standardize(student) - channel_standardize(teacher)
        return diff.pow(2).mean() / 2 * loss_weight


class PKDLoss(nn.Module):
    """Module form of :func:`pkd_loss` (``dict(type='PKDLoss', loss_weight=6.0)``)."""

    compares_channels = True  # channel c against channel c: equal widths (or the core's adapter)

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: Tensor, teacher: Tensor) -> Tensor:
        """``(N, C, Hs, Ws)``, ``(N, C, Ht, Wt)`` -> scalar."""
        return pkd_loss(student, teacher, loss_weight=self.loss_weight)

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}"
