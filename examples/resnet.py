"""ResNet-50 written in the project (the torchvision v1.5 layout: stride on the 3×3 convolution).

>>> from padstride.analysis import analyze
>>> s = analyze(resnet50(), (3, 224, 224))
>>> s.total_params, s.output_rf[0].size, s.output_rf[0].stride, s.output_rf[0].padding
(25557032, 427, Fraction(32, 1), Fraction(213, 1))
"""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["Bottleneck", "ResNet", "resnet50"]


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3 (strided), 1×1 expand; a 1×1 strided projection when the shape changes."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        c_out = width * self.expansion
        self.conv1, self.bn1 = nn.Conv2d(c_in, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, c_out, 1, bias=False), nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    """Stem (7×7/2 conv, 3×3/2 max pool), four stages of bottlenecks, global average pool, classifier."""

    def __init__(self, layers: tuple[int, int, int, int] = (3, 4, 6, 3), classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(64), nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        c = 64
        stages = []
        for i, blocks in enumerate(layers):
            width = 64 * 2**i
            stage = []
            for j in range(blocks):
                stage.append(Bottleneck(c, width, 2 if j == 0 and i > 0 else 1))
                c = width * Bottleneck.expansion
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet50() -> ResNet:
    """ResNet-50: 25,557,032 parameters."""
    return ResNet((3, 4, 6, 3))
