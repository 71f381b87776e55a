"""padstride.torch.convert: layers swapped, weights kept, behaviour as asked."""

from __future__ import annotations

import torch
from torch import nn

import padstride.torch as pt


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.BatchNorm2d(8),
        nn.Sequential(nn.Conv2d(8, 8, 3, padding="same", padding_mode="reflect"), nn.ReLU()),
        nn.MaxPool2d(3, 2, 1),
        nn.AvgPool2d(2, 2, ceil_mode=True),
        nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1),
    ).eval()


def test_keep_own_padding_is_identical():
    net = _net()
    ours = pt.convert(net, padding=None)
    assert isinstance(ours[0], pt.Conv2d) and isinstance(ours[2][0], pt.Conv2d)
    assert isinstance(ours[3], pt.MaxPool2d) and isinstance(ours[5], pt.ConvTranspose2d)
    assert ours[2][0].spec.convention == "torch_same"
    for size in [(16, 16), (17, 15)]:
        x = torch.randn(2, 3, *size)
        torch.testing.assert_close(ours(x), net(x))
    assert isinstance(net[0], nn.Conv2d) and not isinstance(net[0], pt.Conv2d)  # original untouched


def test_same_gives_tf_pads_with_the_same_weights():
    net = _net()
    ours = pt.convert(net, padding="same")
    x = torch.randn(1, 3, 16, 16)
    # first layer: TF same on an even input pads (0, 1), not PyTorch's (1, 1)
    want = nn.functional.conv2d(nn.functional.pad(x, [0, 1, 0, 1]), net[0].weight, net[0].bias, 2)
    torch.testing.assert_close(ours[0](x), want)
    assert ours[4].count_include_pad is False and ours[4].spec.convention == "same"
    assert ours(x).shape == (1, 4, 4, 4)


def test_callable_chooses_per_layer_and_top_level_layer():
    net = _net()
    ours = pt.convert(net, lambda name, layer: "same" if name == "0" else None)
    assert isinstance(ours[0], pt.Conv2d) and type(ours[3]) is nn.MaxPool2d
    single = pt.convert(nn.Conv1d(2, 2, 4, stride=3), "same")
    assert isinstance(single, pt.Conv1d) and single(torch.zeros(1, 2, 10)).shape[-1] == 4
