"""Receptive field of one output unit through a stack of layers, per axis, from the geometry.

Walking back from the output, output unit ``u`` of a window layer reads input indices
``[start(u), start(u) + span − 1]`` (:meth:`AxisWindow.start`); composing the layers gives the
interval of input indices (padding included, so it may start below 0) that the unit sees.
Padding does not change the *size* of the field; it moves where the field sits and how much of it
falls on padding.

>>> from padstride.geometry import Layer
>>> f = fields([Layer.conv(3, padding="same")] * 3, 16)
>>> [(x.size, x.start, x.end) for x in f]
[(3, -1, 1), (5, -2, 2), (7, -3, 3)]
>>> f[-1].on_padding
3
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..geometry import AxisWindow, Layer, PaddingError, conv_axis, pool_axis

__all__ = ["Field", "fields", "layer_windows", "parse_stack"]


@dataclass(frozen=True)
class Field:
    """Receptive field of one unit after ``depth`` layers: input indices ``start … end``."""

    depth: int
    unit: int
    start: int
    end: int
    input: int
    output: int

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    @property
    def centre(self) -> float:
        return (self.start + self.end) / 2

    @property
    def on_padding(self) -> int:
        """Cells of the field outside the input ``[0, input)``."""
        return max(0, -self.start) + max(0, self.end - (self.input - 1))


def layer_windows(layers: Sequence[Layer], n: int) -> list[AxisWindow]:
    """The :class:`AxisWindow` of every layer when the stack's input has length ``n``."""
    out = []
    for i, layer in enumerate(layers):
        if layer.op == "conv":
            w = conv_axis(n, layer.kernel, layer.stride, layer.padding, layer.dilation)
        elif layer.op == "pool":
            w = pool_axis(n, layer.kernel, layer.stride, layer.padding, layer.dilation, layer.ceil_mode)
        else:
            raise PaddingError(f"layer {i}: receptive fields here cover conv and pool layers, not {layer.op!r}")
        out.append(w)
        n = w.output
    return out


def fields(layers: Sequence[Layer], n: int, unit: int | str = 0) -> list[Field]:
    """Field of one unit after each depth 1 … len(layers); ``unit`` an index or ``'centre'``."""
    windows = layer_windows(layers, n)
    out = []
    for depth in range(1, len(windows) + 1):
        last = windows[depth - 1].output
        u = last // 2 if unit == "centre" else int(unit)
        if not 0 <= u < last:
            u = min(max(u, 0), last - 1)
        a = b = u
        for w in reversed(windows[:depth]):
            a, b = w.start(a), w.start(b) + w.span - 1
        out.append(Field(depth, u, a, b, n, last))
    return out


def parse_stack(text: str, padding: object = "valid") -> list[Layer]:
    """``"c3,c3s2,p2,c3d2"`` → layers (``c``onv / ``p``ool, kernel, optional ``s``tride, ``d``ilation).

    Convolutions get ``padding``; pools are unpadded with stride = kernel unless ``s`` is given.

    >>> [(l.op, l.kernel, l.stride) for l in parse_stack("c3s2,p2")]
    [('conv', 3, 2), ('pool', 2, 2)]
    """
    import re

    layers = []
    for item in filter(None, (t.strip().lower() for t in text.split(","))):
        m = re.fullmatch(r"([cp])(\d+)(?:s(\d+))?(?:d(\d+))?(?:x(\d+))?", item)
        if not m:
            raise PaddingError(
                f"bad layer {item!r}: expected c<k>[s<stride>][d<dilation>][x<repeat>] or p<k>[s<stride>]"
            )
        kind, k, s, d, rep = m.groups()
        if kind == "c":
            layer = Layer.conv(int(k), int(s or 1), padding, int(d or 1))
        else:
            layer = Layer.pool(int(k), int(s) if s else None)
        layers.extend([layer] * int(rep or 1))
    if not layers:
        raise PaddingError(f"empty layer stack {text!r}")
    return layers


def as_dicts(items: Sequence[Field]) -> list[dict[str, Any]]:
    """JSON-ready fields."""
    return [dict(depth=f.depth, unit=f.unit, start=f.start, end=f.end, size=f.size, centre=f.centre,
                 on_padding=f.on_padding, output=f.output) for f in items]
