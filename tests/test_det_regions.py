"""FPN distillation sees each image's valid region only: padding added by batching changes nothing."""
from __future__ import annotations

import copy

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData

from nst_det.det.regions import group_by_size, valid_region_loss, valid_size, valid_sizes
from nst_det.losses import NSTLoss
from nst_det.registry import MODELS
from nst_det.utils.errors import NSTDetError

from det_fixtures import FPN_DISTILL


def test_valid_size_rounds_up_and_clips_to_the_level():
    assert valid_size((100, 130), 8, (16, 20)) == (13, 17)     # 12.5 -> 13, 16.25 -> 17
    assert valid_size((128, 160), 8, (16, 20)) == (16, 20)     # the whole level
    assert valid_size((190, 250), 64, (3, 4)) == (3, 4)        # ceil(2.97) = 3, ceil(3.9) = 4
    assert valid_size((200, 250), 64, (3, 4)) == (3, 4)        # ceil(3.1) = 4 > 3 rows: clipped
    assert valid_sizes([(96, 128), (64, 128)], 32, (3, 4)) == [(3, 4), (2, 4)]
    assert group_by_size([(3, 4), (2, 4), (3, 4)]) == {(3, 4): [0, 2], (2, 4): [1]}


def padded(image: torch.Tensor, size: tuple[int, int], fill: torch.Generator) -> torch.Tensor:
    """``image`` ``(C, h, w)`` at the top left of a ``(C, H, W)`` map whose padding holds other values."""
    out = torch.randn((image.shape[0], *size), generator=fill, dtype=image.dtype) * 5 + 3
    out[:, :image.shape[1], :image.shape[2]] = image
    return out


@pytest.mark.parametrize("loss", [NSTLoss(kernel="poly", loss_weight=50.0), NSTLoss(kernel="linear"),
                                  NSTLoss(kernel="gaussian"), MODELS.build(dict(type="MSELoss"))],
                         ids=["nst-poly", "nst-linear", "nst-gaussian", "mse"])
def test_an_images_loss_does_not_depend_on_how_the_batch_padded_it(loss):
    gen = torch.Generator().manual_seed(0)
    # one level (stride 8) of a 100x130 image and of a 128x160 one: 13x17 and 16x20 cells
    small_s, small_t = torch.randn(2, 16, 13, 17, generator=gen, dtype=torch.float64).unbind(0)
    large_s, large_t = torch.randn(2, 16, 16, 20, generator=gen, dtype=torch.float64).unbind(0)

    def alone(s, t):
        return valid_region_loss(loss, s[None], t[None], [tuple(s.shape[-2:])])

    # the small image alone (no padding) vs beside the large one (padded to 16x20 with other values)
    fill = torch.Generator().manual_seed(1)
    student = torch.stack([padded(small_s, (16, 20), fill), large_s])
    teacher = torch.stack([padded(small_t, (16, 20), fill), large_t])
    sizes = valid_sizes([(100, 130), (128, 160)], 8, (16, 20))
    together = valid_region_loss(loss, student, teacher, sizes)
    torch.testing.assert_close(together, (alone(small_s, small_t) + alone(large_s, large_t)) / 2,
                               rtol=1e-12, atol=1e-15)
    # a batch padded further (to 24x24: a third, larger image) gives the small image the same loss
    student3 = torch.stack([padded(small_s, (24, 24), fill), padded(large_s, (24, 24), fill),
                            torch.randn(16, 24, 24, generator=gen, dtype=torch.float64)])
    teacher3 = torch.stack([padded(small_t, (24, 24), fill), padded(large_t, (24, 24), fill),
                            torch.randn(16, 24, 24, generator=gen, dtype=torch.float64)])
    sizes3 = valid_sizes([(100, 130), (128, 160), (192, 192)], 8, (24, 24))
    third = alone(student3[2], teacher3[2])
    torch.testing.assert_close(valid_region_loss(loss, student3, teacher3, sizes3),
                               (alone(small_s, small_t) + alone(large_s, large_t) + third) / 3,
                               rtol=1e-12, atol=1e-15)
    # without cropping the padding would count (the test can fail)
    assert not torch.allclose(loss(student, teacher), together, rtol=1e-3)


def test_sizes_must_match_the_batch():
    with pytest.raises(NSTDetError, match="1 valid sizes for student batch 2"):
        valid_region_loss(NSTLoss(), torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4), [(4, 4)])


def sample(img_shape, batch_shape) -> DetDataSample:
    out = DetDataSample(metainfo=dict(img_shape=img_shape, pad_shape=batch_shape, batch_input_shape=batch_shape,
                                      scale_factor=(1.0, 1.0)))
    out.gt_instances = InstanceData(bboxes=torch.tensor([[10.0, 12.0, 60.0, 70.0]]), labels=torch.tensor([1]))
    return out


def test_the_distiller_crops_every_level_to_each_images_valid_region(weight_files):
    cfg = Config.fromfile(str(FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py"))
    cfg.model.student.backbone.init_cfg = None
    cfg.model.teacher.checkpoint = str(weight_files["teacher"])
    cfg.model.distill.update(warmup_iters=0, taps=("p2", "p3", "p4", "p5", "p6"))
    model = MODELS.build(cfg.model).train()
    gen = torch.Generator().manual_seed(2)
    inputs = torch.randn(2, 3, 128, 160, generator=gen)
    inputs[1, :, 100:, :] = 0.0  # the second image is 100x130, zero-padded as mmdet's preprocessor pads
    inputs[1, :, :, 130:] = 0.0
    samples = [sample((128, 160), (128, 160)), sample((100, 130), (128, 160))]
    losses = model.loss(inputs, copy.deepcopy(samples))
    student = model.student.extract_feat(inputs)
    teacher = model.teacher_features(inputs)
    for level, _ in model.levels:
        s, t = student[level.index], teacher[level.index]
        h, w = -(-100 // level.stride), -(-130 // level.stride)
        loss = model.distill_core.losses[0]
        per_image = [loss(s[:1], t[:1]), loss(s[1:, :, :h, :w], t[1:, :, :h, :w])]
        torch.testing.assert_close(losses[f"loss_nst_{level.name}"], sum(per_image) / 2, rtol=1e-5, atol=0.0)
        if (h, w) != tuple(s.shape[-2:]):
            assert not torch.allclose(losses[f"loss_nst_{level.name}"], loss(s, t), rtol=1e-3)

