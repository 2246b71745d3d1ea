"""The one checked-loading path (nst_det/utils/weights.py): one reader, one key checker, one tolerance."""
from __future__ import annotations

import pytest
import torch
import torchvision
from mmdet.models.backbones import ResNet

from nst_det.det.weights import check_backbone_file
from nst_det.pretrain.classifiers import load_classifier_weights
from nst_det.pretrain.students import check_against_mmdet_backbone
from nst_det.selectivity import load_classifier
from nst_det.utils.errors import NSTDetError
from nst_det.utils.weights import check_state_dict, key_differences, read_state_dict, unwrap_model


def without_counters(state_dict: dict) -> dict:
    return {k: v for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}


def test_every_reader_tolerates_a_missing_num_batches_tracked_and_nothing_else(tmp_path):
    """Files saved before PyTorch 0.4.1 lack the BatchNorm counter; every loader accepts them alike."""
    torch.manual_seed(0)
    full = torchvision.models.resnet18(num_classes=3).state_dict()
    torch.save(without_counters(full), tmp_path / "old.pth")
    torch.save(without_counters({k: v for k, v in full.items() if not k.startswith("fc.")}), tmp_path / "backbone.pth")
    assert load_classifier_weights(torchvision.models.resnet18(num_classes=3), tmp_path / "old.pth", "resnet18")
    assert load_classifier(tmp_path / "old.pth", "resnet18").fc.out_features == 3
    backbone = ResNet(depth=18, init_cfg=dict(type="Pretrained", checkpoint=str(tmp_path / "backbone.pth")))
    assert check_backbone_file(backbone) == str(tmp_path / "backbone.pth")
    exported = torch.load(tmp_path / "backbone.pth", weights_only=True)
    assert check_against_mmdet_backbone(exported, "resnet18") == ([], [])
    broken = without_counters(full)
    broken.pop("layer1.0.bn1.running_mean")
    with pytest.raises(NSTDetError, match=r"1 of \d+ keys missing: 'layer1.0.bn1.running_mean'"):
        check_state_dict(torchvision.models.resnet18(num_classes=3), broken, "file", "f.pth")


@pytest.mark.parametrize("wrap", [lambda sd: sd, lambda sd: {"state_dict": sd}, lambda sd: {"model": sd},
                                  lambda sd: {f"module.{k}": v for k, v in sd.items()}],
                         ids=["bare", "state_dict", "model", "ddp"])
def test_read_state_dict_finds_the_weights_and_strips_prefixes(tmp_path, wrap):
    weights = {"backbone.conv.weight": torch.ones(1), "student.fc.bias": torch.zeros(2)}
    torch.save(wrap(weights), tmp_path / "w.pth")
    assert set(read_state_dict(tmp_path / "w.pth")) == set(weights)
    assert set(read_state_dict(tmp_path / "w.pth", prefix="backbone.")) == {"conv.weight"}
    assert set(read_state_dict(tmp_path / "w.pth", prefix="student.")) == {"fc.bias"}
    with pytest.raises(NSTDetError, match="has no keys starting with 'neck.'"):
        read_state_dict(tmp_path / "w.pth", what="teacher checkpoint", prefix="neck.")


def test_key_differences_and_unwrap():
    model = torch.nn.Sequential(torch.nn.Linear(2, 3))
    missing, unexpected, shapes = key_differences(model.state_dict(),
                                                  {"0.weight": torch.zeros(3, 3), "x": torch.ones(1)})
    assert (missing, unexpected, shapes) == (["0.bias"], ["x"], ["0.weight (file (3, 3), model (3, 2))"])
    assert unwrap_model(model) is model
