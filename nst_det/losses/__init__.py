"""Distillation losses, torch only (:mod:`nst_det.registry` registers the module forms in MMDetection's ``MODELS``).

Feature losses, each ``(student (B, Cs, H, W), teacher (B, Ct, H, W)) -> scalar`` averaged over the batch:
NST (:mod:`.nst`, three kernels), FitNet hints (:mod:`.fitnet`), attention transfer (:mod:`.at`),
PKD (:mod:`.pkd`), CWD (:mod:`.cwd`); mmdet's ``MSELoss`` is the plain mimic. Logits: KD (:mod:`.kd`).
A module's ``compares_channels`` says whether it compares channel ``c`` with channel ``c`` (then widths must
match, through the core's adapter); FitNet's ``needs_regressor`` asks the core for its 1×1 regressor.
"""
from .at import ATLoss, at_loss, attention_map
from .cwd import CWDLoss, cwd_loss
from .fitnet import FitNetLoss, fitnet_loss
from .kd import KDLoss, kd_loss
from .nst import KERNELS, NST_WEIGHT, NSTLoss, align_spatial, choose_gram, nst_loss, nst_mmd2, selectivity_maps
from .pkd import PKDLoss, channel_standardize, pkd_loss

FEATURE_LOSSES = (NSTLoss, FitNetLoss, ATLoss, PKDLoss, CWDLoss)

__all__ = ["NSTLoss", "nst_loss", "nst_mmd2", "NST_WEIGHT", "KDLoss", "kd_loss", "KERNELS", "align_spatial",
           "choose_gram", "selectivity_maps", "ATLoss", "at_loss", "attention_map", "FitNetLoss", "fitnet_loss",
           "PKDLoss", "pkd_loss", "channel_standardize", "CWDLoss", "cwd_loss", "FEATURE_LOSSES"]
