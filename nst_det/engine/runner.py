"""``NSTDetRunner``: mmengine's Runner with the project's hooks, for configs run by mmdet's own tools.

``configs/_base_/det_runtime.py`` lists the project's hooks under ``nst_det_hooks`` (not ``custom_hooks``,
which stock configs define themselves) and names this runner as ``runner_type``. mmdet's
``tools/train.py`` / ``tools/test.py`` build ``RUNNERS.build(cfg)`` when a config sets ``runner_type``,
so under them too the hooks run (and :class:`~nst_det.engine.hooks.RuntimeSwitchesHook` says which
switches only the project's tools apply). The project's tools add the same hooks themselves
(:func:`~nst_det.engine.runtime.apply_runtime_switches`).
"""
from __future__ import annotations

import copy

from mmdet.registry import RUNNERS
from mmengine.runner import Runner

from nst_det.engine.runtime import add_project_hooks


@RUNNERS.register_module()
class NSTDetRunner(Runner):
    """:class:`mmengine.runner.Runner`, built with ``cfg.nst_det_hooks`` appended to ``cfg.custom_hooks``."""

    @classmethod
    def from_cfg(cls, cfg) -> Runner:
        cfg = copy.deepcopy(cfg)
        add_project_hooks(cfg)
        return super().from_cfg(cfg)
