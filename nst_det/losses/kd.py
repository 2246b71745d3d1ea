"""Knowledge distillation on logits (Hinton et al., 2015), for the KD+NST combination."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nst_det.losses.nst import REDUCTIONS, reduce_loss
from nst_det.utils.errors import InvalidInputError


def kd_loss(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 4.0, *,
            loss_weight: float = 1.0, reduction: str = "mean") -> Tensor:
    """``loss_weight · T² · KL(softmax(t/T) ‖ softmax(s/T))``, per sample then reduced.

    The T² factor keeps the gradient scale independent of T, so ``loss_weight=1`` with T=4 is the
    official NST code's "KD weighted by T² = 16".

    Args:
        student_logits: ``(N, K)``; gradients flow into it.
        teacher_logits: ``(N, K)``; detached.
        temperature: T > 0.
        loss_weight: α.
        reduction: ``"mean"`` over samples, ``"sum"`` or ``"none"`` for ``(N,)``.
    """
    for name, x in (("student_logits", student_logits), ("teacher_logits", teacher_logits)):
        if not isinstance(x, Tensor) or x.dim() != 2:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise InvalidInputError(f"kd_loss: `{name}` must be a 2-D tensor (N, K); got {shape}")
    if student_logits.shape != teacher_logits.shape:
        raise InvalidInputError(f"kd_loss: logits differ in shape: student {tuple(student_logits.shape)} "
                                f"vs teacher {tuple(teacher_logits.shape)}")
    if not temperature > 0:
        raise InvalidInputError(f"kd_loss: `temperature` must be positive, got {temperature!r}")
    if reduction not in REDUCTIONS:
        raise InvalidInputError(f"kd_loss: unknown reduction {reduction!r}; choose one of {REDUCTIONS}")
    dtype = torch.promote_types(student_logits.dtype, torch.float32)
    with torch.autocast(device_type=student_logits.device.type, enabled=False):
        log_p_student = F.log_softmax(student_logits.to(dtype) / temperature, dim=1)
        log_p_teacher = F.log_softmax(teacher_logits.detach().to(dtype) / temperature, dim=1)
        per_sample = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(1)
    return reduce_loss(per_sample, reduction) * (loss_weight * temperature ** 2)


class KDLoss(nn.Module):
    """Module form of :func:`kd_loss` (``dict(type='KDLoss', temperature=4.0)``)."""

    def __init__(self, temperature: float = 4.0, loss_weight: float = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        if not temperature > 0:
            raise InvalidInputError(f"KDLoss: `temperature` must be positive, got {temperature!r}")
        if reduction not in REDUCTIONS:
            raise InvalidInputError(f"KDLoss: unknown reduction {reduction!r}; choose one of {REDUCTIONS}")
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
        """``(N, K)``, ``(N, K)`` -> scalar (or ``(N,)`` for reduction='none')."""
        return kd_loss(student_logits, teacher_logits, self.temperature,
                       loss_weight=self.loss_weight, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, loss_weight={self.loss_weight}"
