"""Input checks the feature losses share: one clear line for a tensor a loss cannot take."""
from __future__ import annotations

import torch
from torch import Tensor

from nst_det.utils.errors import InvalidInputError


def check_feature(owner: str, name: str, x: object) -> Tensor:
    """``x`` itself if it is a non-empty floating-point ``(B, C, H, W)`` tensor, else one line naming ``owner``."""
    if not isinstance(x, Tensor):
        raise InvalidInputError(f"{owner}: `{name}` must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise InvalidInputError(f"{owner}: `{name}` must be a 4-D feature map (B, C, H, W); got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise InvalidInputError(f"{owner}: `{name}` must be a floating-point tensor, got {x.dtype}")
    if x.numel() == 0:
        raise InvalidInputError(f"{owner}: `{name}` is empty (shape {tuple(x.shape)})")
    return x


def check_pair(owner: str, student: object, teacher: object, *, channels: bool = True,
               spatial: bool = True) -> tuple[Tensor, Tensor]:
    """Check two feature maps of one batch; ``channels``/``spatial``: those sizes must be equal too.

    A loss that compares the student's channel ``c`` with the teacher's channel ``c`` needs equal channel
    counts: the distillation core puts a 1×1 adapter in front of it (``distill.adapt_channels=True``).
    """
    student, teacher = check_feature(owner, "student", student), check_feature(owner, "teacher", teacher)
    if student.shape[0] != teacher.shape[0]:
        raise InvalidInputError(f"{owner}: batch sizes differ: student {student.shape[0]} vs teacher "
                                f"{teacher.shape[0]}")
    if channels and student.shape[1] != teacher.shape[1]:
        raise InvalidInputError(f"{owner}: channel counts differ (student {student.shape[1]}, teacher "
                                f"{teacher.shape[1]}); it compares channels one to one: set "
                                "distill.adapt_channels=True for a 1x1 adapter")
    if spatial and student.shape[-2:] != teacher.shape[-2:]:
        raise InvalidInputError(f"{owner}: spatial sizes differ (student {tuple(student.shape[-2:])}, teacher "
                                f"{tuple(teacher.shape[-2:])})")
    return student, teacher


def compute_dtype(x: Tensor) -> torch.dtype:
    """float32, or float64 for float64 inputs: losses run outside autocast in at least float32."""
    return torch.promote_types(x.dtype, torch.float32)
