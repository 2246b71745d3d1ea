"""NST and KD losses; the module forms are registered in MMDetection's ``MODELS`` registry."""
from nst_det.registry import MODELS

from .kd import KDLoss, kd_loss
from .nst import KERNELS, NSTLoss, align_spatial, choose_gram, nst_loss, nst_mmd2, selectivity_maps

MODELS.register_module(module=NSTLoss)
MODELS.register_module(module=KDLoss)

__all__ = ["NSTLoss", "nst_loss", "nst_mmd2", "KDLoss", "kd_loss", "KERNELS", "align_spatial",
           "choose_gram", "selectivity_maps"]
