"""Models for the receptive-field oracle: every path linear with positive weights, so the input
gradient of a unit is non-zero exactly on the pixels it is connected to (no ReLU zeros, no max
picks, no cancellation). Loaded by path in the CLI tests (``tests/viz/_models.py:NAME``)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

import resnet

import padstride.torch as pt


def linear_positive(model: nn.Module) -> nn.Module:
    """ReLU → Identity, MaxPool → AvgPool of the same window, conv weights in [0.5, 1]."""
    for name, child in list(model.named_children()):
        if isinstance(child, nn.ReLU):
            setattr(model, name, nn.Identity())
        elif isinstance(child, nn.MaxPool2d) and not isinstance(child, pt.MaxPool2d):
            setattr(model, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding, child.ceil_mode))
        else:
            linear_positive(child)
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            with torch.no_grad():
                m.weight.copy_(0.5 + 0.5 * torch.rand(m.weight.shape, generator=gen))
    return model.eval()


def small_resnet() -> nn.Module:
    """examples/resnet.py's ResNet with one bottleneck per stage."""
    return linear_positive(resnet.ResNet((1, 1, 1, 1), classes=10))


class Branchy(nn.Module):
    """Two strided branches (padstride TF-same conv and pool) concatenated, a nearest upsample, a skip add."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding=1)
        self.conv_branch = pt.Conv2d(4, 4, 3, stride=2, padding="same")
        self.pool_branch = pt.AvgPool2d(3, 2, padding="same")
        self.mix = nn.Conv2d(8, 4, (3, 1), padding=(2, 0), dilation=(2, 1))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.head = nn.Conv2d(4, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stem(x)
        y = self.mix(torch.cat([self.conv_branch(s), self.pool_branch(s)], dim=1))
        return self.head(self.up(y) + s)


def branchy() -> nn.Module:
    return linear_positive(Branchy())
