"""Config switches the project's tools apply before building the Runner (set in ``_base_/det_runtime.py``).

* ``checked_image_loading = True``: every ``LoadImageFromFile`` step becomes
  :class:`~nst_det.det.images.CheckedLoadImageFromFile` (truncated or undecodable images are named).
* ``seed_per_sample = True`` (training only): augmentation seeded by ``(seed, epoch, index)``
  (:func:`nst_det.engine.seeded_data.seed_train_samples`), so resumed runs continue exactly.

Switches are top-level keys, so stock mmdet configs (which lack them) run unchanged. The tools record
what they applied in ``cfg.applied_runtime_switches``; a config run by another tool (mmdet's
``tools/train.py``) is told in one line which switches it lost (:class:`~nst_det.engine.hooks.RuntimeSwitchesHook`).

The project's hooks are listed under ``nst_det_hooks``, not ``custom_hooks``: stock configs (YOLOX,
RTMDet, ...) define ``custom_hooks`` themselves, and mmengine refuses a key that two ``_base_`` files both
define. :func:`add_project_hooks` appends them to the config's ``custom_hooks``; the tools call it, and so
does :class:`~nst_det.engine.runner.NSTDetRunner` (``runner_type``), which mmdet's own tools build.
"""
from __future__ import annotations

from mmengine.config import Config

from nst_det.det.images import use_checked_image_loading
from nst_det.engine.seeded_data import seed_train_samples

APPLIED_KEY = "applied_runtime_switches"
HOOKS_KEY = "nst_det_hooks"
# switch -> what is lost when it is set but not applied
SWITCHES = {
    "checked_image_loading": "a truncated or undecodable image fails without its file name",
    "seed_per_sample": "a resumed run no longer continues exactly as the uninterrupted one would",
}


def apply_runtime_switches(cfg: Config, training: bool) -> None:
    """Add the project's hooks (:func:`add_project_hooks`) and apply the switches ``cfg`` sets, in place;
    record the switches in ``cfg.applied_runtime_switches``."""
    add_project_hooks(cfg)
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


def add_project_hooks(cfg: Config) -> list[str]:
    """Append the hooks of ``cfg.nst_det_hooks`` to ``cfg.custom_hooks``, in place, skipping a type the
    config's own ``custom_hooks`` already has (so a config can give one its own arguments); idempotent.

    Returns:
        The types added.
    """
    hooks = list(cfg.get("custom_hooks") or [])
    present = {hook.get("type") for hook in hooks if isinstance(hook, dict)}
    added = [dict(hook) for hook in cfg.get(HOOKS_KEY) or [] if hook.get("type") not in present]
    cfg.custom_hooks = hooks + added
    return [hook["type"] for hook in added]
