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
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.visualization import Visualizer

from nst_det.engine.runtime import add_project_hooks


@RUNNERS.register_module()
class NSTDetRunner(Runner):
    """:class:`mmengine.runner.Runner`, built with ``cfg.nst_det_hooks`` appended to ``cfg.custom_hooks``."""

    @classmethod
    def from_cfg(cls, cfg) -> Runner:
        cfg = copy.deepcopy(cfg)
        add_project_hooks(cfg)
        return super().from_cfg(cfg)

    def build_visualizer(self, visualizer=None) -> Visualizer:
        """mmengine's visualizer, made the one ``Visualizer.get_current_instance()`` returns.

        Stock configs name their visualizer ``'visualizer'``. A second runner in the same process (a tool's
        ``main`` called twice, a notebook) gets that existing instance back without moving it to the end of
        ``Visualizer._instance_dict``, so the hooks (``DetVisualizationHook``) would draw with whichever
        visualizer was created last: a plain ``Visualizer`` that has no ``pred_score_thr``.
        """
        built = super().build_visualizer(visualizer)
        Visualizer._instance_dict.pop(built.instance_name, None)
        Visualizer._instance_dict[built.instance_name] = built
        return built


def build_runner(cfg: Config) -> Runner:
    """The runner of a detection config, as mmdet's ``tools/train.py`` builds it: its ``runner_type``
    (:class:`NSTDetRunner` for the project's configs), else mmengine's :class:`~mmengine.runner.Runner`."""
    return RUNNERS.build(cfg) if "runner_type" in cfg else Runner.from_cfg(cfg)
