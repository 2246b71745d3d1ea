"""FeatureTaps(keep_tuple=True): a neck's whole output tuple (one tensor per FPN level)."""
import torch
from torch import nn

from nst_det.taps import FeatureTaps


class Pyramid(nn.Module):
    """Returns a tuple of three levels, like an FPN neck."""

    def forward(self, x):
        return x, x[..., ::2, ::2] * 2, x[..., ::4, ::4] * 3


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.neck = Pyramid()

    def forward(self, x):
        return self.neck(self.conv(x))


def test_keep_tuple_stores_every_level_and_default_keeps_the_first():
    net, x = Net(), torch.randn(2, 3, 16, 16)
    with FeatureTaps(net, ["neck"], keep_tuple=True) as taps:
        out = net(x)
        levels = taps["neck"]
    assert isinstance(levels, tuple) and len(levels) == 3
    assert all(a is b for a, b in zip(levels, out)) and levels[2].shape == (2, 4, 4, 4)
    with FeatureTaps(net, ["neck"]) as taps:  # backward compatible: first tensor only
        out = net(x)
        assert torch.equal(taps["neck"], out[0])


def test_keep_tuple_detaches_each_level_and_wraps_a_single_tensor():
    net, x = Net(), torch.randn(1, 3, 8, 8)
    with FeatureTaps(net, ["neck", "conv"], detach=True, keep_tuple=True) as taps:
        net(x)
        levels, conv = taps["neck"], taps["conv"]
    assert all(not f.requires_grad for f in levels)
    assert isinstance(conv, tuple) and len(conv) == 1 and conv[0].shape == (1, 4, 8, 8)
