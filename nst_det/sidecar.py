"""What a run says about itself: ``<work_dir>/distill.json`` (both stages, written when training starts) and the
ImageNet stage's export sidecar ``backbone_<arch>.json`` (also in checkpoints' ``meta['nst_det']``).

Both hold the built distillation core's record (:meth:`~nst_det.distill.core.DistillCore.record`), so the report
(:mod:`nst_det.reporting`) shows what trained, for detection runs too::

    distill.json:        {"student": "resnet18" | "FasterRCNN (ResNet-18)", "teacher": ... | null,
                          "distill": {"losses": [{"kind": "nst", "type": "NSTLoss", "loss_weight": 50.0, ...}],
                                      "kd": {...} | null, "taps": [{"student", "teacher", "name", "weight"}, ...],
                                      "warmup_iters": 0, "adapters": [...]}}
    backbone_<arch>.json: {"arch": "resnet18", "num_classes": 1000,
                          "teacher": {"arch": "resnet101", "checkpoint": PATH} | null, "distill": {...},
                          "epochs": ..., "iters": ..., "val": {...}, "teacher_val": {...} | null}

Export sidecars written before the core existed hold ``taps``/``nst``/``kd`` instead of ``distill``;
:func:`distill_of` reads both.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

DISTILL_FILE = "distill.json"
KEYS = ("arch", "distill")       # a JSON object with these keys at the top of a work dir is an export sidecar
FORMER_KEYS = ("arch", "taps")   # ... or, written before the distillation core, these


def run_setup(student: str, teacher: Optional[str], distill: Mapping[str, Any]) -> dict:
    """The content of ``distill.json``: the two networks, by name, and the core's record."""
    return dict(student=student, teacher=teacher, distill=dict(distill))


def export_record(arch: str, num_classes: int, teacher: Optional[Mapping[str, Any]], distill: Mapping[str, Any],
                  epochs: int, iters: int, val: Mapping[str, Any], teacher_val: Optional[Mapping[str, Any]]) -> dict:
    """The export sidecar of an ImageNet-stage run (module docstring)."""
    return dict(arch=arch, num_classes=num_classes,
                teacher=dict(arch=teacher.get("arch"), checkpoint=teacher.get("checkpoint")) if teacher else None,
                distill=dict(distill), epochs=epochs, iters=iters, val=dict(val), teacher_val=teacher_val)


def distill_of(info: Mapping[str, Any]) -> dict:
    """The core's record in ``distill.json`` or an export sidecar, also from a sidecar of the former schema
    (``taps``, ``nst: {kernel, loss_weight}``, ``kd: {temperature, loss_weight}``)."""
    if "distill" in info:
        return dict(info["distill"] or {})
    nst, kd = info.get("nst"), info.get("kd")
    taps = [dict(student=s, teacher=t, name=s, weight=1.0) for s, t in info.get("taps") or []]
    return dict(losses=[dict(kind="nst", type="NSTLoss", **nst)] if nst and taps else [],
                kd=dict(kind="kd", type="KDLoss", **kd) if kd else None, taps=taps if nst else [],
                warmup_iters=0, adapters=[])
