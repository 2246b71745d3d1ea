"""The frozen teacher both distillers hold (one mechanism, as mmdet's ``kd_one_stage.py`` does it).

* **Plain attribute**: ``self.teacher`` is set with ``object.__setattr__``, so it is no submodule:
  absent from ``state_dict()``, ``parameters()``, the optimizer and DDP.
* **Frozen**: ``requires_grad=False`` for every parameter, eval mode (BatchNorm statistics and
  dropout fixed); ``train()`` on the distiller keeps the teacher in eval mode.
* **Moves along**: ``_apply`` (``.to()``, ``.cuda()``, ``.half()``, channels-last) is applied to it too.
* **No autograd**: :meth:`FrozenTeacherMixin.run_teacher` runs it under ``torch.no_grad``.
"""
from __future__ import annotations

from typing import Callable, Optional, TypeVar

import torch
from torch import nn

T = TypeVar("T")


def freeze(model: nn.Module) -> nn.Module:
    """Eval mode and ``requires_grad=False`` for every parameter; returns ``model``."""
    model.eval()
    model.requires_grad_(False)
    return model


class FrozenTeacherMixin:
    """Mixin for an ``nn.Module`` distiller holding a frozen teacher (put it before the module base class).

    ``teacher`` is ``None`` until :meth:`set_teacher` (a distiller without a teacher trains the student alone).
    """

    teacher: Optional[nn.Module] = None

    def set_teacher(self, teacher: Optional[nn.Module]) -> None:
        """Hold ``teacher`` frozen, as a plain attribute (not a submodule)."""
        object.__setattr__(self, "teacher", freeze(teacher) if teacher is not None else None)

    def run_teacher(self, call: Callable[[nn.Module], T]) -> T:
        """``call(teacher)`` without autograd."""
        with torch.no_grad():
            return call(self.teacher)

    def _apply(self, fn, *args, **kwargs):
        """Move/cast the teacher along with the distiller (``to``, ``cuda``, ``half``, ...)."""
        if self.teacher is not None:
            self.teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True):
        """Set the distiller's mode; the teacher stays in eval mode."""
        super().train(mode)
        if self.teacher is not None:
            self.teacher.train(False)
        return self
