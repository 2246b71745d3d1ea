"""Optimizer wrappers of nst_det (mmengine ``OPTIM_WRAPPERS``)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from nst_det.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """Forward passes under ``torch.autocast(dtype=torch.bfloat16)`` on the model's device, CPU or GPU.

    bfloat16 has float32's exponent range, so no loss scaling is needed, and none is done: unlike
    mmengine's ``AmpOptimWrapper`` (a GPU-only ``GradScaler``, which reads a value back from the
    device at every step) this adds no host synchronisation. ``tools/pretrain_backbone.py --amp``
    uses it; the NST and KD losses compute in float32 whatever the features' dtype.
    """

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        device_type = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(device_type=device_type, dtype=torch.bfloat16):
            yield
