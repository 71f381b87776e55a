"""U-Net (seed 001 slide 12) in ``same`` or ``valid`` padding, with the original paper's crop-and-concatenate.

Slide 12's ``valid`` U-Net cannot concatenate: the skip tensor is larger than the upsampled one.
Ronneberger et al. (2015) crop the skip tensor's centre to the upsampled size; so do we. A valid
U-Net's output is smaller than its input; :func:`valid_sizes` lists the input sizes for which no
pooling stage drops a pixel (the tile condition).

>>> import torch
>>> net = UNet(padding="valid", depth=2, base=4)
>>> net(torch.zeros(1, 1, 44, 44)).shape
torch.Size([1, 1, 4, 4])
>>> UNet(padding="same", depth=2, base=4)(torch.zeros(1, 1, 32, 32)).shape
torch.Size([1, 1, 32, 32])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..geometry import Layer, centre_crop, evenly_divisible_sizes
from .layers import conv_layer, max_pool

__all__ = ["UNet", "center_crop", "unet_layers", "valid_sizes"]


def unet_layers(depth: int, padding: object = "valid") -> list[Layer]:
    """The U-Net along one axis as geometry layers (contracting path, bridge, expanding path).

    >>> from padstride.geometry import stack_output
    >>> [n for n, _ in stack_output(unet_layers(2), 44)][-1]
    4
    """
    block = [Layer.conv(3, padding=padding), Layer.conv(3, padding=padding)]
    down = ([*block, Layer.pool(2)]) * depth
    up = ([Layer.upsample(2), *block]) * depth
    return down + block + up


def valid_sizes(depth: int, sizes: Iterable[int], padding: object = "valid") -> list[int]:
    """Input sizes a U-Net of this depth and padding takes without any pooling dropping a pixel.

    >>> valid_sizes(2, range(40, 70))
    [44, 48, 52, 56, 60, 64, 68]
    >>> valid_sizes(2, range(8, 20), padding="same")
    [8, 12, 16]
    """
    return evenly_divisible_sizes(unet_layers(depth, padding), sizes)


def center_crop(x: Any, size: tuple[int, ...]) -> Any:
    """Crop the spatial centre of ``x`` (N×C×spatial) to ``size``; the odd pixel goes after.

    >>> import torch
    >>> center_crop(torch.arange(25.).reshape(1, 1, 5, 5), (3, 3))[0, 0, 0].tolist()
    [6.0, 7.0, 8.0]
    """
    index = [slice(None), slice(None)]
    for have, want in zip(x.shape[2:], size, strict=False):
        before, _ = centre_crop(have, want)
        index.append(slice(before, before + want))
    return x[tuple(index)]


def _module() -> type:
    import torch
    from torch import nn

    def block(cin: int, cout: int, padding: object) -> nn.Module:
        return nn.Sequential(conv_layer(cin, cout, 3, padding=padding), nn.ReLU(),
                             conv_layer(cout, cout, 3, padding=padding), nn.ReLU())

    class _UNet(nn.Module):
        def __init__(self, padding: object = "same", depth: int = 2, base: int = 16, in_channels: int = 1,
                     out_channels: int = 1) -> None:
            super().__init__()
            self.padding, self.depth = padding, depth
            widths = [base * 2**i for i in range(depth + 1)]
            self.down = nn.ModuleList()
            cin = in_channels
            for w in widths[:-1]:
                self.down.append(block(cin, w, padding))
                cin = w
            self.pool = max_pool(2)
            self.bridge = block(widths[-2], widths[-1], padding)
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.decode = nn.ModuleList(
                block(widths[i + 1] + widths[i], widths[i], padding) for i in reversed(range(depth)))
            self.head = nn.Conv2d(widths[0], out_channels, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            skips = []
            for enc in self.down:
                x = enc(x)
                skips.append(x)
                x = self.pool(x)
            x = self.bridge(x)
            for dec, skip in zip(self.decode, reversed(skips), strict=False):
                x = self.up(x)
                x = dec(torch.cat([center_crop(skip, tuple(x.shape[2:])), x], 1))
            out: torch.Tensor = self.head(x)
            return out

    return _UNet


def UNet(padding: object = "same", depth: int = 2, base: int = 16, in_channels: int = 1,
         out_channels: int = 1) -> Any:
    """A U-Net ``torch.nn.Module``; ``base`` filters at the top level (slide 12: 64), doubling per level.

    >>> UNet("valid", depth=1, base=2).depth
    1
    """
    return _module()(padding, depth, base, in_channels, out_channels)
