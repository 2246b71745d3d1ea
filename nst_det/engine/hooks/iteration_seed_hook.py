"""Reseed the training process per iteration, so a resumed run draws what the uninterrupted one would."""
from __future__ import annotations

from mmengine.dist import get_rank
from mmengine.hooks import Hook

from nst_det.registry import HOOKS
from nst_det.seeding import mixed_seed, seed_all


@HOOKS.register_module()
class IterationSeedHook(Hook):
    """Reseed the main process before every training iteration from ``(runner seed, iteration, rank)``.

    What the model draws during training (RPN/RoI proposal sampling, dropout) then depends on the
    iteration alone, not on what happened earlier in the process: a run resumed from a checkpoint
    draws exactly what the uninterrupted run drew (otherwise e.g. the seed a new DataLoader
    iterator takes from the global generator shifts every later draw). Before training, samplers
    with a ``seed`` take the runner's seed, which mmengine saves in checkpoints and restores on
    resume (a sampler seeded on its own reshuffles differently after a restart without a fixed seed).
    """

    priority = "HIGHEST"

    def before_train(self, runner) -> None:
        loader = runner.train_loop.dataloader
        batch_sampler = getattr(loader, "batch_sampler", None)
        for sampler in (loader.sampler, getattr(batch_sampler, "sampler", None)):
            if sampler is not None and hasattr(sampler, "seed"):
                sampler.seed = runner.seed

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        seed_all(mixed_seed(runner.seed, runner.iter, get_rank()))
