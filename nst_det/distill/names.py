"""What the distillation core calls things: loss kinds, logged loss names, method labels (plain strings only).

A loss's *kind* is its type without ``Loss``, lower case: ``NSTLoss`` -> ``nst``, mmdet's ``MSELoss`` ->
``mse``, ``FitNetLoss`` -> ``fitnet``, ``ATLoss`` -> ``at``, ``PKDLoss`` -> ``pkd``, ``CWDLoss`` -> ``cwd``,
``KDLoss`` -> ``kd``. Each (student tap, teacher tap) pair logs ``loss_<kind>_<pair name>`` per feature loss
(``loss_nst_p3``, ``loss_mse_layer4_1_relu_in``); KD on logits logs ``loss_kd``. A run's method label joins
the labels of its kinds, KD first: ``CE``, ``KD``, ``NST``, ``KD+NST``, ``AT+NST``.
"""
from __future__ import annotations

from typing import Iterable, Sequence

KIND_LABELS = {"kd": "KD", "nst": "NST", "mse": "MSE", "fitnet": "FitNet", "at": "AT", "pkd": "PKD", "cwd": "CWD"}
KD_KEY = "loss_kd"


def loss_kind(loss_type: str) -> str:
    """``'NSTLoss'`` -> ``'nst'``; a scope prefix (``'mmdet.MSELoss'``) is dropped."""
    name = str(loss_type).rsplit(".", 1)[-1].lower()
    return name[:-len("loss")] if name.endswith("loss") and name != "loss" else name


def loss_key(kind: str, pair_name: str) -> str:
    """The logged name of one feature loss on one pair: ``loss_<kind>_<pair name>``."""
    return f"loss_{kind}_{pair_name}"


def method_label(kinds: Sequence[str]) -> str:
    """``['kd', 'nst']`` -> ``'KD+NST'`` (KD first, then the feature losses in order); no kinds -> ``'CE'``."""
    ordered = (["kd"] if "kd" in kinds else []) + [k for k in kinds if k != "kd"]
    return "+".join(KIND_LABELS.get(k, k.upper()) for k in ordered) or "CE"


def logged_kinds(loss_keys: Iterable[str]) -> list[str]:
    """The known kinds among logged loss names (``loss_kd``, ``loss_<kind>_...``), in order of appearance.

    Only :data:`KIND_LABELS` count: a detector's own ``loss_rpn_cls`` is no distillation kind.
    """
    kinds: dict[str, None] = {}
    for key in loss_keys:
        if key == KD_KEY:
            kinds["kd"] = None
        elif key.startswith("loss_") and key.split("_")[1] in KIND_LABELS and key.count("_") >= 2:
            kinds[key.split("_")[1]] = None
    return list(kinds)
