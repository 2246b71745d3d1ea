"""Say in one line when a config's runtime switches were not applied (a stock tool ran it)."""
from __future__ import annotations

import logging

from mmengine.hooks import Hook
from mmengine.logging import print_log

from nst_det.engine.runtime import SWITCHES, unapplied_switches
from nst_det.registry import HOOKS


@HOOKS.register_module()
class RuntimeSwitchesHook(Hook):
    """Warn when ``checked_image_loading`` / ``seed_per_sample`` are set but were not applied.

    The switches rewrite the config before the Runner is built, which only the project's tools do
    (``tools/train_det.py``, ``tools/test_det.py``). Under mmdet's ``tools/train.py`` or ``tools/test.py``
    the run still works, without what the switch gives; this hook names the switch, what is lost, and
    the tools that apply it, in one line when training (or testing) starts.
    """

    def before_train(self, runner) -> None:
        self._warn(runner, training=True)

    def before_test(self, runner) -> None:
        self._warn(runner, training=False)

    @staticmethod
    def _warn(runner, training: bool) -> None:
        missing = unapplied_switches(runner.cfg, training)
        if missing:
            lost = "; ".join(f"{name}: {SWITCHES[name]}" for name in missing)
            print_log(f"this config sets {', '.join(missing)}, which only nst_det's tools/train_det.py and "
                      f"tools/test_det.py apply; under this tool {lost}", logger="current", level=logging.WARNING)
