"""Config switches the detection tools apply before building the Runner (set in ``_base_/det_runtime.py``).

* ``checked_image_loading = True``: every ``LoadImageFromFile`` step becomes
  :class:`~nst_det.det.images.CheckedLoadImageFromFile` (truncated or undecodable images are named).
* ``seed_per_sample = True`` (training only): augmentation seeded by ``(seed, epoch, index)``
  (:func:`nst_det.seeding.seed_train_samples`), so resumed runs continue exactly.

Switches are top-level keys, so stock mmdet configs (which lack them) run unchanged.
"""
from __future__ import annotations

from mmengine.config import Config

from nst_det.det.images import use_checked_image_loading
from nst_det.seeding import seed_train_samples


def apply_runtime_switches(cfg: Config, training: bool) -> None:
    """Apply the switches ``cfg`` sets, in place."""
    if cfg.get("checked_image_loading", False):
        for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
            if cfg.get(name):
                use_checked_image_loading(cfg[name])
    if training and cfg.get("seed_per_sample", False):
        seed_train_samples(cfg)
