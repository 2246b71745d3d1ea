"""The export sidecar: what ``backbone_<arch>.json`` (and checkpoints' ``meta['nst_det']``) say about a run.

One schema, written by :class:`~nst_det.pretrain.hooks.ExportBackboneHook` and read by
:mod:`nst_det.reporting` (which also derives it from a dumped config while a run is in progress)::

    {"arch": "resnet18", "num_classes": 1000,
     "teacher": {"arch": "resnet101", "checkpoint": PATH} | null,
     "taps": [[student_tap, teacher_tap], ...],
     "nst": {"kernel": "poly", "loss_weight": 50.0} | null,
     "kd": {"temperature": 4.0, "loss_weight": 1.0} | null,
     "epochs": ..., "iters": ..., "val": {...}, "teacher_val": {...} | null}
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from nst_det.distill.settings import DEFAULT_LOSS

KEYS = ("arch", "taps")  # a JSON object with these keys at the top of a work dir is a sidecar
# ClassifierDistiller arguments before the shared vocabulary (configs dumped by older runs)
_FORMER = {"taps": "taps", "nst_loss": "loss", "kd_loss": "kd_loss"}


def distill_block(model: Mapping[str, Any]) -> dict:
    """A ``ClassifierDistiller`` config's ``distill`` settings, also from a config of the former names."""
    distill = dict(model.get("distill") or {})
    for old, new in _FORMER.items():
        if old in model and new not in distill:
            distill[new] = model[old]
    return distill


def setup_record(model: Mapping[str, Any], num_classes: Optional[int] = None) -> dict:
    """The setup part of the sidecar (arch, num_classes, teacher, taps, nst, kd) from a ``ClassifierDistiller``
    model config: ``dict(student=dict(arch, num_classes), teacher=dict(arch, ..., checkpoint), distill=...)``.

    Defaults are the distiller's: with taps and no ``loss`` the NST term is :data:`DEFAULT_LOSS`.
    """
    student, teacher = model.get("student") or {}, model.get("teacher")
    distill = distill_block(model)
    taps = [[str(s), str(t)] for s, t in distill.get("taps") or []]
    nst = None
    if taps:
        loss = distill["loss"] if "loss" in distill else DEFAULT_LOSS
        loss = loss or {}
        nst = dict(kernel=loss.get("kernel", "poly"), loss_weight=loss.get("loss_weight", 1.0))
    kd = distill.get("kd_loss")
    return dict(arch=student.get("arch"), num_classes=num_classes or student.get("num_classes"),
                teacher=dict(arch=teacher.get("arch"), checkpoint=teacher.get("checkpoint")) if teacher else None,
                taps=taps, nst=nst,
                kd=dict(temperature=kd.get("temperature", 4.0), loss_weight=kd.get("loss_weight", 1.0)) if kd else None)


def run_record(setup: dict, epochs: int, iters: int, val: Mapping[str, Any],
               teacher_val: Optional[Mapping[str, Any]]) -> dict:
    """The whole sidecar: :func:`setup_record` plus how far the run got and its last validation."""
    return dict(setup, epochs=epochs, iters=iters, val=dict(val), teacher_val=teacher_val)
