"""Receptive field per depth, read from :mod:`padstride.analysis`, for a layer stack or any model it reads.

A field is the interval of input indices (padding included, so it may start below 0) that one
unit sees. The analysis composes fields forward through the graph (size, effective stride,
centre per node); this module walks the graph's *main path* — from the output back, at each merge
into the input with the larger field — and lists the field after every layer on it that moves or
grows the field (convolutions, pools, transposed convolutions, resizes, pads, crops, merges).
Padding does not change the *size* of a field; it moves where the field sits and how much of it
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

from ..analysis import GraphBuilder, LayerInfo, Summary, analyze
from ..analysis.summary import num
from ..geometry import Layer, PaddingError

__all__ = [
    "FIELD_OPS", "MAX_LAYERS", "Field", "fields", "last_feature_map", "main_path", "model_fields", "parse_stack",
    "stack_summary",
]

#: Layers a stack given as text may hold (``c3x1000000000000`` is refused, not expanded).
MAX_LAYERS = 1000

#: ops after which the field of the main path is listed
FIELD_OPS = ("conv", "conv_transpose", "pool", "upsample", "pad", "crop", "add", "concat", "mul")


@dataclass(frozen=True)
class Field:
    """Receptive field of one unit of layer ``name`` (``depth`` along the main path): input indices ``start … end``.

    ``stride`` and ``padding`` are the effective stride and padding of the layer's units:
    unit ``u`` starts at ``u·stride − padding``. Fractions (after upsampling) are floats.
    """

    depth: int
    name: str
    unit: int
    start: int | float
    end: int | float
    input: int
    output: int
    stride: int | float
    padding: int | float

    @property
    def size(self) -> int | float:
        return self.end - self.start + 1

    @property
    def centre(self) -> float:
        return (self.start + self.end) / 2

    @property
    def on_padding(self) -> int | float:
        """Cells of the field outside the input ``[0, input)``."""
        return max(0, -self.start) + max(0, self.end - (self.input - 1))


def _per_unit(info: LayerInfo) -> bool:
    """The layer's units have their own field (a spatial feature map, not a global one)."""
    return bool(info.rf) and not info.rf_global and bool(info.spatial)


def _reach(info: LayerInfo) -> int:
    return sum(r.size for r in info.rf) if info.rf else -1


def main_path(summary: Summary) -> list[LayerInfo]:
    """The layers from the input to the output, following at each merge the input with the larger field.

    >>> from padstride.analysis import GraphBuilder, analyze
    >>> b = GraphBuilder()
    >>> x = b.input((1, 16, 16))
    >>> y = b.add([b.conv(b.conv(x, 1, 3, padding=1), 1, 3, padding=1), b.conv(x, 1, 1)])
    >>> [i.name for i in main_path(analyze(b.build()))]
    ['input', 'conv', 'conv_1', 'add']
    """
    infos = {i.name: i for i in summary.layers}
    chain = [infos[summary.graph.outputs[0]]]
    while chain[-1].inputs:
        chain.append(max((infos[n] for n in chain[-1].inputs), key=_reach))
    return chain[::-1]


def last_feature_map(summary: Summary) -> LayerInfo:
    """The last layer on the main path whose units have their own field (the output of a fully
    convolutional model; the map before the global pool of a classifier)."""
    found = [i for i in main_path(summary) if _per_unit(i)]
    if not found:
        raise PaddingError(f"{summary.graph.name}: no spatial feature map with a receptive field per unit")
    return found[-1]


def model_fields(summary: Summary, unit: int | str = 0, axis: int = 0) -> list[Field]:
    """Field of one unit (an index, or ``'centre'`` of each layer) along one axis, per layer of the main path.

    Layers after a shape error (no shape) are left out. A unit index past a layer's units is
    refused (:class:`~padstride.geometry.PaddingError`), not clamped.

    >>> from padstride.analysis import GraphBuilder, analyze
    >>> b = GraphBuilder()
    >>> x = b.conv(b.conv(b.input((1, 28)), 1, 3, 2, "same"), 1, 3, 2, "same")
    >>> [(f.name, f.size, f.stride, f.padding) for f in model_fields(analyze(b.build()))]
    [('conv', 3, 2, 0), ('conv_1', 7, 4, 0)]
    """
    n = summary.layer(summary.graph.inputs[0]).spatial[axis]
    out: list[Field] = []
    for info in main_path(summary):
        if info.op not in FIELD_OPS or not info.rf or not _per_unit(info):
            continue
        last = info.spatial[axis]
        u = last // 2 if unit == "centre" else int(unit)
        if not 0 <= u < last:
            raise PaddingError(f"unit {u} is outside layer {info.name}'s {last} units (0..{last - 1}); "
                               f"follow a smaller unit or 'centre'")
        rf = info.rf[axis]
        start, end = rf.span(u)
        out.append(Field(len(out) + 1, info.name, u, num(start), num(end), n, last, num(rf.stride), num(rf.padding)))
    return out


def stack_summary(layers: Sequence[Layer], n: int) -> Summary:
    """The analysis of a 1-D stack of conv and pool :class:`Layer` s on an input of length ``n``."""
    b = GraphBuilder("stack")
    x = b.input((1, n))
    for i, layer in enumerate(layers):
        if layer.op == "conv":
            x = b.conv(x, 1, layer.kernel, layer.stride, layer.padding, layer.dilation, name=f"conv{i}")
        elif layer.op == "pool":
            x = b.pool(x, "max", layer.kernel, layer.stride, layer.padding, layer.dilation, layer.ceil_mode,
                       name=f"pool{i}")
        else:
            raise PaddingError(f"layer {i}: stacks here hold conv and pool layers, not {layer.op!r}")
    return analyze(b.build())


def fields(layers: Sequence[Layer], n: int, unit: int | str = 0) -> list[Field]:
    """Field of one unit after each depth 1 … len(layers); ``unit`` an index or ``'centre'``."""
    summary = stack_summary(layers, n)
    if summary.errors:
        raise PaddingError(summary.errors[0])
    return model_fields(summary, unit)


def parse_stack(text: str, padding: object = "valid") -> list[Layer]:
    """``"c3,c3s2,p2,c3d2"`` → layers (``c``onv / ``p``ool, kernel, optional ``s``tride, ``d``ilation).

    Convolutions get ``padding``; pools are unpadded with stride = kernel unless ``s`` is given.

    >>> [(l.op, l.kernel, l.stride) for l in parse_stack("c3s2,p2")]
    [('conv', 3, 2), ('pool', 2, 2)]
    """
    import re

    layers: list[Layer] = []
    for item in filter(None, (t.strip().lower() for t in text.split(","))):
        m = re.fullmatch(r"([cp])(\d+)(?:s(\d+))?(?:d(\d+))?(?:x(\d+))?", item)
        if not m:
            raise PaddingError(
                f"bad layer {item!r}: expected c<k>[s<stride>][d<dilation>][x<repeat>] or p<k>[s<stride>]"
            )
        kind, k, s, d, rep = m.groups()
        if len(layers) + int(rep or 1) > MAX_LAYERS:
            raise PaddingError(f"layer stack {text[:60]!r} has more than {MAX_LAYERS} layers")
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
    return [dict(depth=f.depth, name=f.name, unit=f.unit, start=f.start, end=f.end, size=f.size, centre=f.centre,
                 stride=f.stride, padding=f.padding, on_padding=f.on_padding, output=f.output) for f in items]
