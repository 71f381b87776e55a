"""The seed models written in PyTorch, for ``padstride summary examples/torch_models.py:NAME --input C,H,W``.

Keras' ``padding="same"`` at stride 2 pads (0, 1) on a 28-pixel axis; PyTorch has no such mode, so
the strided models put the exact TF pads in a ``ZeroPad2d`` in front of an unpadded convolution.

>>> from padstride.analysis import analyze
>>> analyze(seed003_valid(), (1, 28, 28)).total_params
2002698
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "CustomCNN", "UNet", "UNet3D", "cnn3d_same", "cnn3d_valid", "custom_cnn", "mnist_cnn_same", "mnist_cnn_valid",
    "seed003_same", "seed003_strided", "seed003_valid", "seed004_strided", "unet3d", "unet_same", "unet_valid",
]


def _seed003(padding: str, strides: tuple[int, int, int], flat: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    c = 1
    for s in strides:
        if s == 2:  # TF 'same' at stride 2 on an even axis pads (0, 1)
            layers += [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(c, 32, 3, stride=2)]
        else:
            layers.append(nn.Conv2d(c, 32, 3, padding=padding))
        layers.append(nn.ReLU())
        c = 32
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(flat, 128), nn.ReLU(), nn.Linear(128, 10))


def seed003_valid() -> nn.Sequential:
    """Seed 003, ``valid``: 2,002,698 params at 28×28."""
    return _seed003("valid", (1, 1, 1), 32 * 22 * 22)


def seed003_same() -> nn.Sequential:
    """Seed 003, ``same``: 3,231,498 params at 28×28."""
    return _seed003("same", (1, 1, 1), 32 * 28 * 28)


def seed003_strided() -> nn.Sequential:
    """Seed 003, stride 2 three times: 28 → 14 → 7 → 4, 85,770 params."""
    layers: list[nn.Module] = []
    c = 1
    for pads in ((0, 1, 0, 1), (0, 1, 0, 1), (1, 1, 1, 1)):  # TF 'same' at stride 2 on 28, 14 and 7
        layers += [nn.ZeroPad2d(pads), nn.Conv2d(c, 32, 3, stride=2), nn.ReLU()]
        c = 32
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(32 * 4 * 4, 128), nn.ReLU(), nn.Linear(128, 10))


def seed004_strided() -> nn.Sequential:
    """Seed 004's variant: stride 2, stride 2, stride 1 (28 → 14 → 7 → 7), 220,938 params."""
    return _seed003("same", (2, 2, 1), 32 * 7 * 7)


def _small_cnn(padding: str, size: int, nd: int, head: list[nn.Module]) -> nn.Sequential:
    """Seed 001's conv-pool-conv-pool-conv-flatten-dense stack, in 2-D (slides 4/9) or 3-D (slide 14)."""
    conv, pool = (nn.Conv2d, nn.MaxPool2d) if nd == 2 else (nn.Conv3d, nn.MaxPool3d)

    def side(n: int) -> int:
        return n if padding == "same" else n - 2

    flat = side(side(side(size) // 2) // 2)
    return nn.Sequential(
        conv(1, 32, 3, padding=padding), nn.ReLU(), pool(2),
        conv(32, 64, 3, padding=padding), nn.ReLU(), pool(2),
        conv(64, 64, 3, padding=padding), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * flat**nd, 64), nn.ReLU(), *head,
    )


def _mnist_cnn(padding: str, size: int) -> nn.Sequential:
    return _small_cnn(padding, size, 2, [nn.Linear(64, 10)])


def mnist_cnn_valid(size: int = 28) -> nn.Sequential:
    """Seed 001 slides 4/9, ``valid``: 93,322 params at 28, 121,994 at 32, 646,282 at 64."""
    return _mnist_cnn("valid", size)


def mnist_cnn_same(size: int = 28) -> nn.Sequential:
    """Seed 001 slides 4/9, ``same``: 257,162 params at 28, 318,602 at 32, 1,105,034 at 64."""
    return _mnist_cnn("same", size)


class CustomPadding(nn.Module):
    """Seed 001 slide 5, verbatim."""

    def __init__(self, padding: int) -> None:
        super().__init__()
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (self.padding, self.padding, self.padding, self.padding), mode="constant", value=0)


class CustomCNN(nn.Module):
    """Seed 001 slide 5, verbatim: ``fc1`` expects 64·6·6 features but gets 64·7·7 at 28×28."""

    def __init__(self, padding_size: int) -> None:
        super().__init__()
        self.padding = CustomPadding(padding_size)
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(64 * 6 * 6, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.padding(x)
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(x, 2)
        x = self.padding(x)
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = x.view(-1, 64 * 6 * 6)
        x = self.fc1(x)
        return F.log_softmax(x, dim=1)


def custom_cnn() -> CustomCNN:
    """The seed's ``CustomCNN(padding_size=1)``."""
    return CustomCNN(padding_size=1)


def _block(c_in: int, c_out: int, padding: str, nd: int = 2) -> nn.Sequential:
    conv = nn.Conv2d if nd == 2 else nn.Conv3d
    return nn.Sequential(conv(c_in, c_out, 3, padding=padding), nn.ReLU(), conv(c_out, c_out, 3, padding=padding),
                         nn.ReLU())


class UNet(nn.Module):
    """Seed 001 slide 12: two poolings, a bridge, two upsamplings with skip concatenations."""

    def __init__(self, padding: str = "same") -> None:
        super().__init__()
        self.conv1, self.conv2 = _block(1, 64, padding), _block(64, 128, padding)
        self.conv3 = _block(128, 256, padding)
        self.conv4, self.conv5 = _block(256 + 128, 128, padding), _block(128 + 64, 64, padding)
        self.pool, self.up = nn.MaxPool2d(2), nn.Upsample(scale_factor=2)
        self.out = nn.Conv2d(64, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c1 = self.conv1(x)
        c2 = self.conv2(self.pool(c1))
        c3 = self.conv3(self.pool(c2))
        c4 = self.conv4(torch.cat([self.up(c3), c2], dim=1))
        c5 = self.conv5(torch.cat([self.up(c4), c1], dim=1))
        return torch.sigmoid(self.out(c5))


def unet_same() -> UNet:
    """Slide 12 with ``same`` padding (1,881,985 params, 256×256 in and out)."""
    return UNet("same")


def unet_valid() -> UNet:
    """Slide 12 with ``valid`` padding: the concatenations do not fit without a crop."""
    return UNet("valid")


def _cnn3d(padding: str, size: int = 64) -> nn.Sequential:
    return _small_cnn(padding, size, 3, [nn.Linear(64, 1), nn.Sigmoid()])


def cnn3d_same() -> nn.Sequential:
    """Seed 001 slide 14, ``same``, on 64³ volumes."""
    return _cnn3d("same")


def cnn3d_valid() -> nn.Sequential:
    """Seed 001 slide 14, ``valid``, on 64³ volumes."""
    return _cnn3d("valid")


class UNet3D(nn.Module):
    """A 3-D U-Net (``depth`` poolings, ``base`` channels doubling per level), ``same`` padding."""

    def __init__(self, base: int = 8, depth: int = 3, in_channels: int = 1, classes: int = 2) -> None:
        super().__init__()
        chans = [base * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList([_block(in_channels if i == 0 else chans[i - 1], chans[i], "same", 3)
                                   for i in range(depth + 1)])
        self.pool = nn.MaxPool3d(2)
        self.ups = nn.ModuleList([nn.ConvTranspose3d(chans[i + 1], chans[i], 2, stride=2) for i in range(depth)])
        self.up_blocks = nn.ModuleList([_block(2 * chans[i], chans[i], "same", 3) for i in range(depth)])
        self.head = nn.Conv3d(base, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for i in reversed(range(len(self.ups))):
            x = self.up_blocks[i](torch.cat([self.ups[i](x), skips.pop()], dim=1))
        return self.head(x)


def unet3d() -> UNet3D:
    """The benchmark's 3-D U-Net: base 8, three poolings (use ``--input 1,256,256,256``)."""
    return UNet3D()
