"""Training randomness as a function of (seed, epoch, sample index), so a resumed run continues exactly.

mmengine seeds the random generators once per process. After ``--resume`` the generators restart
from that seed, so the augmentation and the detector's proposal sampling of the resumed epochs
differ from those of an uninterrupted run; DataLoader workers are also seeded identically every
epoch when they are not persistent. The generators here remove that dependence (torch and numpy only):

* :func:`seeded_rngs` runs a block with the ``random``, numpy and torch generators seeded by a few
  numbers (a sample's ``(seed, epoch, index)``);
* :func:`mixed_seed` / :func:`seed_all` reseed a process from such numbers.

The mmengine side (:mod:`nst_det.engine.seeded_data`: the sampler that hands each index its
``(seed, epoch)``, the dataset wrapper that loads under :func:`seeded_rngs`;
:class:`~nst_det.engine.hooks.IterationSeedHook`, which reseeds the main process per iteration) uses them.
The augmentation of an image then depends neither on the number of workers nor on where a run
was interrupted.
"""
from __future__ import annotations

import contextlib
import random
from typing import Iterator

import numpy as np
import torch

SeededIndex = tuple[int, int, int]  # (index, seed, epoch)


def mixed_seed(*numbers: int) -> int:
    """A 63-bit seed from a few integers (stable across processes and runs)."""
    return hash(tuple(int(n) for n in numbers)) & 0x7FFF_FFFF_FFFF_FFFF


def seed_all(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed & 0xFFFF_FFFF)
    torch.manual_seed(seed)


@contextlib.contextmanager
def seeded_rngs(*numbers: int) -> Iterator[None]:
    """Run the body with the ``random``, numpy and torch-CPU generators seeded by ``numbers``.

    What is drawn after the block does not depend on what the block drew: ``random`` and torch
    get their states back; numpy's global generator (whose 2.5 KB state costs ~70 us to copy) is
    reseeded from a number drawn on entry. About 30 us per call.
    """
    python_state, numpy_resume_seed = random.getstate(), int(np.random.randint(2**32, dtype=np.uint64))
    with torch.random.fork_rng(devices=[]):
        seed = mixed_seed(*numbers)
        random.seed(seed)
        np.random.seed(seed & 0xFFFF_FFFF)
        torch.default_generator.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.seed(numpy_resume_seed)
