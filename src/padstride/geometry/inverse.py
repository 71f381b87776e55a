"""Inverse questions: which pads or input sizes give the output you want.

>>> pads_for_output(28, 3, 14, stride=2)
(0, 1)
>>> input_sizes_for_output(14, 3, stride=2, padding="same", sizes=range(20, 40))
[27, 28]
>>> unet = [Layer.conv(3), Layer.conv(3), Layer.pool(2)] * 4 + [Layer.conv(3), Layer.conv(3)]
>>> evenly_divisible_sizes(unet, range(560, 580))
[572]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import PaddingError
from .padding import effective_kernel
from .pool import pool_axis
from .transpose import conv_transpose_axis
from .window import conv_axis

__all__ = [
    "Layer",
    "evenly_divisible_sizes",
    "input_sizes_for_output",
    "pads_for_output",
    "stack_output",
]


def pads_for_output(
    n: int, kernel: int, target: int, stride: int = 1, dilation: int = 1, lower: bool = False
) -> tuple[int, int]:
    """Smallest ``(before, after)`` giving ``target`` outputs, split as TF does (odd pixel after).

    Negative values mean a crop is needed. ``lower=True`` puts the odd pixel before.

    >>> pads_for_output(10, 5, 10)
    (2, 2)
    >>> pads_for_output(10, 3, 3, stride=3)
    (0, 0)
    """
    if target < 1:
        raise PaddingError(f"target output must be >= 1, got {target}")
    span = effective_kernel(kernel, dilation)
    total = (target - 1) * stride + span - n
    if total < 0:  # the floor rule allows up to stride−1 spare pixels
        total = min(total + stride - 1, 0)
    small, large = total // 2, total - total // 2
    return (large, small) if lower else (small, large)


def input_sizes_for_output(
    target: int,
    kernel: int,
    stride: int = 1,
    padding: object = "valid",
    dilation: int = 1,
    sizes: Iterable[int] = range(1, 1025),
) -> list[int]:
    """All input sizes in ``sizes`` whose convolution output has length ``target``.

    >>> input_sizes_for_output(3, 3, stride=2, sizes=range(1, 20))
    [7, 8]
    """
    found = []
    for n in sizes:
        try:
            if conv_axis(n, kernel, stride, padding, dilation).output == target:
                found.append(n)
        except PaddingError:
            continue
    return found


@dataclass(frozen=True)
class Layer:
    """One stage of a stack along an axis: ``conv``, ``pool``, ``convtranspose`` or ``upsample``.

    >>> Layer.pool(2).apply(9)
    (4, (8,))
    """

    op: str
    kernel: int = 1
    stride: int = 1
    padding: object = "valid"
    dilation: int = 1
    ceil_mode: bool = False
    output_padding: int | None = None

    @classmethod
    def conv(cls, kernel: int, stride: int = 1, padding: object = "valid",
             dilation: int = 1) -> Layer:
        return cls("conv", kernel, stride, padding, dilation)

    @classmethod
    def pool(cls, kernel: int, stride: int | None = None, padding: object = "valid",
             ceil_mode: bool = False) -> Layer:
        return cls("pool", kernel, kernel if stride is None else stride, padding, 1, ceil_mode)

    @classmethod
    def convtranspose(cls, kernel: int, stride: int = 1, padding: object = 0,
                      output_padding: int | None = None) -> Layer:
        return cls("convtranspose", kernel, stride, padding, 1, False, output_padding)

    @classmethod
    def upsample(cls, scale: int) -> Layer:
        return cls("upsample", 1, scale)

    def apply(self, n: int) -> tuple[int, tuple[int, ...]]:
        """Output length and the input indices this stage never reads."""
        if self.op == "conv":
            w = conv_axis(n, self.kernel, self.stride, self.padding, self.dilation)
            return w.output, w.dropped
        if self.op == "pool":
            w = pool_axis(n, self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode)
            return w.output, w.dropped
        if self.op == "convtranspose":
            t = conv_transpose_axis(n, self.kernel, self.stride, self.padding,
                                    self.output_padding, self.dilation)
            return t.output, t.dropped
        if self.op == "upsample":
            return n * self.stride, ()
        raise PaddingError(f"unknown layer op {self.op!r}")


def stack_output(layers: Sequence[Layer], n: int) -> list[tuple[int, tuple[int, ...]]]:
    """Per stage, the output length and dropped input indices, starting from input length ``n``.

    >>> [size for size, _ in stack_output([Layer.conv(3), Layer.pool(2)], 28)]
    [26, 13]
    """
    trace = []
    for layer in layers:
        n, dropped = layer.apply(n)
        trace.append((n, dropped))
    return trace


def evenly_divisible_sizes(layers: Sequence[Layer], sizes: Iterable[int]) -> list[int]:
    """Input sizes for which no stage of the stack drops a pixel (the U-Net tile condition)."""
    found = []
    for n in sizes:
        try:
            if all(not dropped for _, dropped in stack_output(layers, n)):
                found.append(n)
        except PaddingError:
            continue
    return found
