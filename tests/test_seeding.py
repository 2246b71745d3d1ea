"""Per-sample seeding: a sample's augmentation is a function of (seed, epoch, index) alone."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.utils.data import DataLoader, Dataset

from nst_det.engine.seeded_data import SeededDataset, SeededSampler, seed_train_samples
from nst_det.registry import DATA_SAMPLERS, DATASETS
from nst_det.seeding import seeded_rngs
from nst_det.utils.errors import NSTDetError

from det_fixtures import DEMO


class RandomDraws(Dataset):
    """Each item draws from all three global generators, as mmcv/mmdet transforms do."""

    metainfo = {"classes": ("a",)}

    def __len__(self) -> int:
        return 8

    def get_data_info(self, index: int) -> dict:
        return {"index": index}

    def __getitem__(self, index: int) -> tuple:
        return index, random.random(), float(np.random.rand()), float(torch.rand(()))


def draws(size: int = 1) -> tuple:
    return random.random(), tuple(np.random.rand(size)), tuple(torch.rand(size).tolist())


def test_seeded_rngs_draw_by_numbers_and_do_not_disturb_the_global_streams():
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    with seeded_rngs(0, 3, 7):
        first = draws()
    after = draws()
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    with seeded_rngs(0, 3, 7):
        assert draws() == first
        draws(100)  # the block draws more: what follows the block is the same
    assert draws() == after
    draws(10)  # whatever happened before the block does not matter to it
    with seeded_rngs(0, 3, 7):
        assert draws() == first
    with seeded_rngs(0, 4, 7):
        assert draws() != first


def epoch_items(num_workers: int, epoch: int, seed: int = 5) -> list:
    dataset = SeededDataset(RandomDraws())
    sampler = SeededSampler(dataset, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    loader = DataLoader(dataset, batch_size=2, sampler=sampler, num_workers=num_workers, collate_fn=list)
    return [item for batch in loader for item in batch]


def test_worker_count_and_restarts_do_not_change_the_augmentation():
    single = epoch_items(num_workers=0, epoch=1)
    torch.rand(100), np.random.rand(100)  # a restarted process starts from other global states
    assert epoch_items(num_workers=2, epoch=1) == single
    assert sorted(i[0] for i in single) == list(range(8))
    other_epoch = epoch_items(num_workers=0, epoch=2)
    assert {i[0]: i[1:] for i in other_epoch} != {i[0]: i[1:] for i in single}
    draws = [value for item in single for value in item[1:]]
    assert len(set(draws)) == len(draws)  # samples do not share random numbers


def test_seeded_dataset_passes_plain_indices_and_annotations_through():
    inner = RandomDraws()
    dataset = DATASETS.build(dict(type="SeededDataset", dataset=inner))
    assert len(dataset) == 8 and dataset.metainfo == inner.metainfo
    assert dataset.get_data_info((3, 0, 1)) == dataset.get_data_info(3) == {"index": 3}
    assert dataset[2][0] == 2
    assert DATA_SAMPLERS.get("SeededSampler") is SeededSampler


def test_seed_train_samples_wraps_the_train_dataset_and_swaps_the_sampler():
    cfg = Config(dict(train_dataloader=dict(
        sampler=dict(type="DefaultSampler", shuffle=True), batch_sampler=dict(type="AspectRatioBatchSampler"),
        dataset=dict(type="VOCDataset", data_root="x/"))))
    seed_train_samples(cfg)
    seed_train_samples(cfg)  # idempotent
    loader = cfg.train_dataloader
    assert loader.sampler == dict(type="SeededSampler", shuffle=True)
    assert loader.dataset == dict(type="SeededDataset", dataset=dict(type="VOCDataset", data_root="x/"))
    assert loader.batch_sampler == dict(type="AspectRatioBatchSampler")


def test_seed_train_samples_refuses_a_sampler_it_cannot_seed():
    cfg = Config(dict(train_dataloader=dict(sampler=dict(type="InfiniteSampler"), dataset=dict(type="VOCDataset"))))
    with pytest.raises(NSTDetError, match="seed_per_sample=True needs .* got InfiniteSampler"):
        seed_train_samples(cfg)


def test_an_mmdet_training_loader_with_wrapped_datasets_yields_seeded_batches(det_data):
    init_default_scope("mmdet")
    cfg = Config.fromfile(str(DEMO / "faster-rcnn_r18_fpn_ce-backbone_8e_demo.py"))
    voc = cfg.train_dataloader.dataset
    voc.data_root = f"{det_data}/VOCdevkit/"
    cfg.train_dataloader.dataset = dict(type="RepeatDataset", times=2, dataset=voc)  # as the VOC07+12 configs
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False, batch_size=2)
    seed_train_samples(cfg)

    def flips(epoch: int) -> list:
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
        loader.batch_sampler.sampler.set_epoch(epoch)
        return [(s.img_path, s.flip) for batch in loader for s in batch["data_samples"]]

    first = flips(epoch=0)
    np.random.rand(50), torch.rand(50)
    assert flips(epoch=0) == first and len(first) == 8  # 4 images, repeated twice
    assert flips(epoch=1) != first
