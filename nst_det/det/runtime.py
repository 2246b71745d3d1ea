"""Config switches the project's tools apply before building the Runner (set in ``_base_/det_runtime.py``).

* ``checked_image_loading = True``: every ``LoadImageFromFile`` step becomes
  :class:`~nst_det.det.images.CheckedLoadImageFromFile` (truncated or undecodable images are named).
* ``seed_per_sample = True`` (training only): augmentation seeded by ``(seed, epoch, index)``
  (:func:`nst_det.seeding.seed_train_samples`), so resumed runs continue exactly.

Switches are top-level keys, so stock mmdet configs (which lack them) run unchanged. The tools record
what they applied in ``cfg.applied_runtime_switches``; a config run by another tool (mmdet's
``tools/train.py``) is told in one line which switches it lost (:class:`~nst_det.engine.hooks.RuntimeSwitchesHook`).
"""
from __future__ import annotations

from mmengine.config import Config

from nst_det.det.images import use_checked_image_loading
from nst_det.seeding import seed_train_samples

APPLIED_KEY = "applied_runtime_switches"
# switch -> what is lost when it is set but not applied
SWITCHES = {
    "checked_image_loading": "a truncated or undecodable image fails without its file name",
    "seed_per_sample": "a resumed run no longer continues exactly as the uninterrupted one would",
}


def apply_runtime_switches(cfg: Config, training: bool) -> None:
    """Apply the switches ``cfg`` sets, in place, and record them in ``cfg.applied_runtime_switches``."""
    applied = []
    if cfg.get("checked_image_loading", False):
        for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
            if cfg.get(name):
                use_checked_image_loading(cfg[name])
        applied.append("checked_image_loading")
    if training and cfg.get("seed_per_sample", False):
        seed_train_samples(cfg)
        applied.append("seed_per_sample")
    cfg[APPLIED_KEY] = applied


def unapplied_switches(cfg: Config, training: bool) -> list[str]:
    """The switches ``cfg`` sets that no tool applied (``seed_per_sample`` counts only when ``training``)."""
    applied = cfg.get(APPLIED_KEY) or []
    return [name for name in SWITCHES if cfg.get(name, False) and name not in applied
            and (training or name != "seed_per_sample")]
