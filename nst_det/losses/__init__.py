"""NST and KD losses (torch only; :mod:`nst_det.registry` registers the module forms in MMDetection's ``MODELS``)."""
from .kd import KDLoss, kd_loss
from .nst import KERNELS, NSTLoss, align_spatial, choose_gram, nst_loss, nst_mmd2, selectivity_maps

__all__ = ["NSTLoss", "nst_loss", "nst_mmd2", "KDLoss", "kd_loss", "KERNELS", "align_spatial",
           "choose_gram", "selectivity_maps"]
