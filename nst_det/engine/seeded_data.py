"""The sampler and dataset wrapper that make each training sample's augmentation a function of
``(seed, epoch, index)`` (:func:`~nst_det.seeding.seeded_rngs`), so a resumed run continues exactly.

* :class:`SeededSampler` hands the dataset ``(index, seed, epoch)`` instead of ``index``;
* :class:`SeededDataset` wraps any dataset (mmdet's included) and loads each sample with the
  ``random``, numpy and torch generators seeded by those three numbers;
* :class:`~nst_det.engine.hooks.IterationSeedHook` reseeds the main process's generators from ``(runner seed,
  iteration, rank)`` before every iteration, and gives the sampler the runner's seed, which
  mmengine restores from the checkpoint on resume;
* :func:`seed_train_samples` rewrites a detection config to use the first two (``seed_per_sample = True``).
"""
from __future__ import annotations

import copy
from typing import Iterator, Union

from mmengine.dataset import DefaultSampler
from torch.utils.data import Dataset

from nst_det.registry import DATA_SAMPLERS, DATASETS
from nst_det.seeding import SeededIndex, seeded_rngs
from nst_det.utils.errors import NSTDetError


@DATA_SAMPLERS.register_module()
class SeededSampler(DefaultSampler):
    """mmengine's ``DefaultSampler`` that also hands each index its ``(seed, epoch)``.

    Datasets that accept ``(index, seed, epoch)`` (:class:`SeededDataset`, the ImageNet stage's
    ``ImageFolderDataset``) draw a sample's augmentation from generators seeded by those numbers.
    """

    def __iter__(self) -> Iterator[SeededIndex]:
        return ((index, self.seed, self.epoch) for index in super().__iter__())


@DATASETS.register_module()
class SeededDataset(Dataset):
    """Wrap a dataset so ``(index, seed, epoch)`` items load under :func:`~nst_det.seeding.seeded_rngs`.

    Args:
        dataset: the wrapped dataset, or its config (built from ``DATASETS``).

    Plain integer indices (validation, tools) load the wrapped sample unchanged.
    """

    def __init__(self, dataset: Union[dict, Dataset]) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self.dataset.metainfo)

    def full_init(self) -> None:
        if hasattr(self.dataset, "full_init"):
            self.dataset.full_init()

    def __len__(self) -> int:
        return len(self.dataset)

    def get_data_info(self, item: Union[int, SeededIndex]) -> dict:
        """The wrapped dataset's annotation record (mmdet's ``AspectRatioBatchSampler`` reads it)."""
        return self.dataset.get_data_info(item[0] if isinstance(item, tuple) else item)

    def __getitem__(self, item: Union[int, SeededIndex]):
        if isinstance(item, tuple):
            index, seed, epoch = item
            with seeded_rngs(seed, epoch, index):
                return self.dataset[index]
        return self.dataset[item]


def seed_train_samples(cfg) -> None:
    """Make ``cfg.train_dataloader`` load every sample under :func:`~nst_det.seeding.seeded_rngs` (in place).

    Wraps the training dataset in :class:`SeededDataset` and swaps mmengine's ``DefaultSampler``
    for :class:`SeededSampler` (a batch sampler such as mmdet's ``AspectRatioBatchSampler`` keeps
    working: it reads annotations through :meth:`SeededDataset.get_data_info`). The detection
    tools apply this to configs that set ``seed_per_sample = True``.

    Raises:
        NSTDetError: for a sampler other than ``DefaultSampler``/``SeededSampler``.
    """
    loader = cfg.train_dataloader
    sampler_type = loader.get("sampler", {}).get("type", "DefaultSampler")
    if sampler_type not in ("DefaultSampler", "SeededSampler", DefaultSampler, SeededSampler):
        raise NSTDetError(f"seed_per_sample=True needs train_dataloader.sampler of type DefaultSampler, "
                          f"got {sampler_type}; set seed_per_sample=False to keep it")
    loader.setdefault("sampler", {})["type"] = "SeededSampler"
    if loader.dataset.get("type") != "SeededDataset":
        loader.dataset = dict(type="SeededDataset", dataset=loader.dataset)
