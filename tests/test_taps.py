"""FeatureTaps: hooks register and remove cleanly; outputs, inputs and pre-activations are captured."""
import pytest
import torch
import torchvision

from nst_det.taps import FeatureTaps, TapSpec
from nst_det.utils.errors import InvalidInputError


def hook_count(module: torch.nn.Module) -> int:
    return len(module._forward_hooks) + len(module._forward_pre_hooks)


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=3).eval()


def test_hooks_are_removed_on_exit_also_after_an_error(resnet):
    taps = FeatureTaps(resnet, ["layer4", "layer3.1.relu:input"])
    modules = [resnet.layer4, resnet.layer3[1].relu]
    with taps:
        assert [hook_count(m) for m in modules] == [1, 1]
        resnet(torch.randn(1, 3, 32, 32))
        assert set(taps.features) == {"layer4", "layer3.1.relu:input"}
    assert [hook_count(m) for m in modules] == [0, 0] and not taps.attached
    with pytest.raises(ZeroDivisionError), taps:
        raise ZeroDivisionError  # an error inside the block
    assert [hook_count(m) for m in modules] == [0, 0]


def test_output_and_input_taps_capture_the_right_tensors(resnet):
    x = torch.randn(2, 3, 64, 64)
    with FeatureTaps(resnet, ["layer3", "layer4.0.conv1:input", "layer4"]) as taps:
        resnet(x)
        layer3, conv_in, layer4 = taps.pop_all()
    assert not taps.features
    torch.testing.assert_close(conv_in, layer3)  # layer4.0.conv1's input is layer3's output
    expected = resnet.layer4(layer3)
    torch.testing.assert_close(layer4, expected)
    assert layer4.shape == (2, 512, 2, 2)


def test_input_tap_on_inplace_relu_keeps_the_pre_activation(resnet):
    """torchvision's ReLU is in-place and shared within a block: the tap must see the residual sum."""
    x = torch.randn(2, 3, 64, 64)
    with FeatureTaps(resnet, ["layer4.0", "layer4.1.relu:input", "layer4"]) as taps:
        resnet(x)
        block_in, pre_activation, block_out = taps.pop_all()
    block = resnet.layer4[1]
    expected = block.bn2(block.conv2(block.relu(block.bn1(block.conv1(block_in))))) + block_in
    torch.testing.assert_close(pre_activation, expected)
    assert (pre_activation < 0).any()  # not overwritten by the in-place ReLU
    torch.testing.assert_close(block_out, pre_activation.clamp_min(0))


def test_features_keep_the_graph_unless_detached(resnet):
    x = torch.randn(1, 3, 32, 32)
    with FeatureTaps(resnet, ["layer2"]) as taps:
        resnet(x)
        assert taps["layer2"].requires_grad
    with FeatureTaps(resnet, ["layer2"], detach=True) as taps:
        resnet(x)
        assert not taps["layer2"].requires_grad


def test_bad_taps_are_refused_clearly(resnet):
    with pytest.raises(InvalidInputError, match="has no submodule 'layer5'"):
        FeatureTaps(resnet, ["layer5"])
    with pytest.raises(InvalidInputError, match="unknown point 'grad'"):
        TapSpec.parse("layer4:grad")
    with pytest.raises(InvalidInputError, match="duplicate taps"):
        FeatureTaps(resnet, ["layer4", "layer4:output"])
    with pytest.raises(KeyError, match="no feature captured for tap 'layer4'"):
        FeatureTaps(resnet, ["layer4"])["layer4"]
