"""Export the student backbone for MMDetection: a plain tensor state dict plus a JSON sidecar.

The ``.pth`` holds ``{name: tensor}`` in the key layout of the student's mmdet backbone
(:mod:`nst_det.pretrain.students`: torchvision's for ResNets, mapped for MobileNetV2), without the
classifier head; it loads with ``torch.load(weights_only=True)`` and with
``backbone.init_cfg=dict(type='Pretrained', checkpoint=PATH)`` into that backbone.
The sidecar ``<name>.json`` records how it was made (arch, teacher, the distillation record, epochs, top-1).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from torch import Tensor

from nst_det.pretrain.students import HEAD_PREFIXES, student_backbone
from nst_det.utils.checkpoint import PathLike, atomic_save, atomic_write_bytes, read_checkpoint
from nst_det.utils.errors import NSTDetError
from nst_det.utils.weights import STUDENT_PREFIX, state_dict_of, strip_prefix


def save_with_sidecar(state_dict: dict[str, Tensor], out: PathLike, info: dict) -> Path:
    """Write ``state_dict`` to ``out`` and ``info`` to ``out`` with suffix ``.json``, both atomically."""
    out = Path(out)
    atomic_save({k: v.detach().cpu() for k, v in state_dict.items()}, out)
    atomic_write_bytes((json.dumps(info, indent=2, sort_keys=True) + "\n").encode(), out.with_suffix(".json"))
    return out


def export_backbone(state_dict: dict[str, Tensor], out: PathLike, info: dict) -> Path:
    """:func:`save_with_sidecar` for a backbone: no classifier head (``fc.*``, ``classifier.*``) may be in it."""
    head = sorted(k for k in state_dict if k.startswith(HEAD_PREFIXES))
    if head:
        raise NSTDetError(f"a backbone export must not contain the classifier head, found {head}")
    return save_with_sidecar(state_dict, out, info)


def backbone_from_checkpoint(path: PathLike, arch: Optional[str] = None) -> tuple[dict[str, Tensor], dict]:
    """The student backbone (mmdet key layout) and its distillation record from a ``pretrain_backbone.py``
    checkpoint; ``arch`` overrides the student architecture the checkpoint records."""
    checkpoint = read_checkpoint(path, what="pretrain checkpoint")
    student = strip_prefix(state_dict_of(checkpoint, "pretrain checkpoint", path), STUDENT_PREFIX)
    if not student:
        raise NSTDetError(f"{path} is not a checkpoint written by tools/pretrain_backbone.py "
                          "(no 'student.*' weights in its state_dict)")
    info = dict(checkpoint.get("meta", {}).get("nst_det", {}))
    info["arch"] = arch or info.get("arch")
    if not info["arch"]:
        raise NSTDetError(f"{path} does not record the student architecture; pass --arch")
    info["source_checkpoint"] = str(path)
    return student_backbone(student, info["arch"]), info
