"""Plain-data checkpoints: every file a run writes loads with ``torch.load(weights_only=True)``.

mmengine 0.10.7 pickles its ``MessageHub`` (``HistoryBuffer`` objects with bound methods) into
resume checkpoints, which ``weights_only`` loading rightly refuses. :class:`PlainCheckpointHook`
rewrites them as plain tensors/lists before saving and rebuilds them after loading, so resume,
``load_from`` and stock mmdet tools read our checkpoints without switching the safe loader off.
"""
from __future__ import annotations

from mmengine.hooks import Hook

from nst_det.engine.plain_data import from_plain, to_plain
from nst_det.registry import HOOKS


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Save mmengine checkpoints as plain data and restore them on load (resume, ``load_from``).

    Runs last among the ``before_save_checkpoint`` hooks so it also converts what other hooks add.
    """

    priority = "VERY_LOW"

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in list(checkpoint):
            if key != "state_dict":
                checkpoint[key] = to_plain(checkpoint[key], key)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in list(checkpoint):
            if key != "state_dict":
                checkpoint[key] = from_plain(checkpoint[key])
        hub, meta = checkpoint.get("message_hub"), checkpoint.get("meta") or {}
        if runner.cfg.get("resume") and isinstance(hub, dict) and not hub.get("log_scalars") and meta.get("iter"):
            # a stock mmengine checkpoint: read_checkpoint skipped its HistoryBuffer objects
            runner.logger.info(f"resuming at iteration {meta['iter']} with the weights, optimizer and schedulers "
                               "of the checkpoint; its message hub history (values logged before) is not restored: "
                               "the file stores it as mmengine objects, which are not read")
