"""The one propagation pass: shapes, pads, params, MACs, memory and receptive fields, per node.

All sizes and pads come from :mod:`padstride.geometry`; this module only routes them through the
graph. MACs follow torchinfo's convention (weights and biases times output positions for
convolutions and dense layers, affine parameters once for norms) except for transposed
convolutions, counted exactly (every input value meets every kernel weight once).

>>> from padstride.analysis import GraphBuilder
>>> b = GraphBuilder()
>>> x = b.conv(b.input((3, 32, 32)), 16, 3, stride=2, padding="same")
>>> info = propagate(b.build())["conv"]
>>> info.shape, info.pads, info.params
((16, 16, 16), ((0, 1), (0, 1)), 448)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from ..errors import Error
from ..geometry import Padding, PaddingError, centre_crop, conv, conv_transpose, per_axis, pool
from .ir import Graph, Node, to_canonical
from .layer import LayerInfo, axis_names
from .rf import AxisMap, AxisRF, union_per_axis

__all__ = ["ShapeError", "broadcast", "new_state", "propagate"]


class ShapeError(Error, ValueError):
    """A layer whose input does not fit it; caught per layer and reported with its name."""


Handler = Callable[[Node, list[LayerInfo], LayerInfo, "_State"], None]


class _State:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.infos: dict[str, LayerInfo] = {}
        self.primary = ""  # the first input node, found as the pass reaches it
        self.input_sizes: tuple[int, ...] = ()
        self.rf_warned: set[int] = set()
        self.done = 0
        self.dtype_bytes = graph.dtype_bytes


def propagate(graph: Graph, state: _State | None = None) -> dict[str, LayerInfo]:
    """Run the pass; returns one :class:`LayerInfo` per node, in graph order.

    ``state`` (from :func:`new_state`) makes the pass incremental: nodes already seen are skipped,
    which adapters use to ask for shapes while they build a graph. The graph must then only grow
    (nodes appended, none changed); the mapping returned is the state's own, in graph order.

    >>> from padstride.analysis import GraphBuilder
    >>> b = GraphBuilder(); _ = b.dense(b.flatten(b.input((1, 4, 4))), 3, in_features=15)
    >>> propagate(b.build())["dense"].errors
    ['dense (dense): expects 15 input features, gets 16 = 1·4·4']
    """
    st = state if state is not None else _State(graph)
    st.graph = graph
    st.dtype_bytes = graph.dtype_bytes
    nodes, step = graph.nodes, _step
    for i in range(st.done, len(nodes)):  # only the nodes added since the last call: O(new nodes)
        step(nodes[i], st)
    st.done = len(nodes)
    return st.infos


def new_state(graph: Graph) -> _State:
    """A state for incremental :func:`propagate` calls on a growing graph."""
    return _State(graph)


def _step(node: Node, st: _State) -> None:
    infos = st.infos
    name, op, inputs = node.name, node.op, node.inputs
    out = infos[name] = LayerInfo(name, node.type, op, inputs)
    if op == "input" and not st.primary:
        st.primary = name
    if op in _PASSTHROUGH and len(inputs) == 1:  # half the nodes of most models: the input's values, as they are
        x = infos[inputs[0]]
        if x.shape is not None:
            out.shape, out.rf, out.factors, out.rf_global, out.bytes = x.shape, x.rf, x.factors, x.rf_global, x.bytes
        return
    if len(inputs) == 1:  # (most nodes: no list comprehension, one check)
        x = infos[inputs[0]]
        if x.shape is None:
            return  # an upstream error was already reported
        ins = [x]
    else:
        ins = [infos[i] for i in inputs]
        for i in ins:
            if i.shape is None:
                return
    try:
        _HANDLERS[op](node, ins, out, st)
    except (ShapeError, PaddingError) as exc:
        out.errors.append(f"{name} ({node.type}): {exc}")
        out.shape = out.shape if out.shape is not None and not isinstance(exc, PaddingError) else None
    if node.attrs.get("shared"):  # a second call of a layer: its weights were counted at the first
        out.params = out.trainable = 0
    if out.shape is not None:
        out.bytes = math.prod(out.shape) * st.dtype_bytes
    if out.geometry is not None and out.rf is not None and len(st.rf_warned) < len(st.input_sizes):
        _check_rf(out, st)


# -- helpers --------------------------------------------------------------------------------


def _one(ins: list[LayerInfo], node: Node) -> LayerInfo:
    if len(ins) != 1:
        raise ShapeError(f"takes one input, got {len(ins)}")
    return ins[0]


def _spatial(x: LayerInfo, node: Node) -> tuple[int, tuple[int, ...]]:
    assert x.shape is not None
    if len(x.shape) < 2:
        raise ShapeError(f"needs a feature map (channels and spatial axes), gets a vector of {x.shape[0]}")
    return x.shape[0], x.shape[1:]


def _map_rf(x: LayerInfo, maps: Sequence[AxisMap] | None) -> tuple[AxisRF, ...] | None:
    rf = x.rf
    if rf is None or maps is None or len(maps) != len(rf):
        return rf
    if len(rf) == 2:  # (the usual case, unrolled)
        a, b = rf[0].then(maps[0]), rf[1].then(maps[1])
        return rf if a is rf[0] and b is rf[1] else (a, b)
    mapped = tuple([r.then(m) for r, m in zip(rf, maps, strict=True)])
    return rf if all(a is b for a, b in zip(mapped, rf, strict=True)) else mapped


def _window_warnings(axes: Sequence[Any], transposed: bool = False) -> tuple[str, ...]:
    """One text per finding, the axes it applies to named together (each printed after the layer's name)."""
    found: dict[str, list[str]] = {}
    for name, ax in zip(axis_names(len(axes)), axes, strict=True):
        b, a = ax.pads
        if b != a and (b > 0 or a > 0):
            found.setdefault(f"asymmetric {'crop' if transposed else 'pads'} ({b}, {a})", []).append(name)
        if transposed:
            if ax.dropped:
                found.setdefault(f"crops away every contribution of {len(ax.dropped)} input px", []).append(name)
            continue
        lo, hi, inner = ax.never_read()
        dropped = min(lo + hi + inner, ax.input)
        if not dropped:
            continue
        parts = [f"the first {lo}"] * bool(lo) + [f"the last {hi}"] * bool(hi)
        parts += [f"{inner} interior"] * bool(inner)
        text = (f"never reads {dropped} of {ax.input} input px ({', '.join(parts)}; "
                f"kernel {ax.kernel}, stride {ax.stride})")
        found.setdefault(text, []).append(name)
    return tuple(f"{text} on {' and '.join(names)}" for text, names in found.items())


def _check_rf(out: LayerInfo, st: _State) -> None:
    sizes = st.input_sizes
    if out.rf is None or out.geometry is None or not sizes or len(st.rf_warned) >= len(sizes):
        return
    for r, n in zip(out.rf, sizes, strict=False):  # (every windowed layer until the field outgrows the input)
        if r.size > n:
            break
    else:
        return
    found: dict[tuple[int, int], list[int]] = {}
    for i, (r, n) in enumerate(zip(out.rf, sizes, strict=False)):
        if r.size > n and i not in st.rf_warned:
            st.rf_warned.add(i)
            found.setdefault((r.size, n), []).append(i)
    names = axis_names(len(sizes))
    for (size, n), axes in found.items():
        out.warnings.append(f"{out.name}: receptive field {size} px exceeds the {n} px input on "
                            f"{' and '.join(names[i] for i in axes)}")


def _axes(node: Node, key: str, nd: int, default: object = 1) -> tuple[int, ...]:
    value = node.attrs.get(key, default)
    return per_axis(default if value is None else value, nd, key)  # type: ignore[arg-type]


def _fmt(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape)


def factors_text(n: int, factors: tuple[int, ...] | None) -> str:
    """``n`` written as a product like ``factors`` (same channels, equal spatial sides) when possible.

    >>> factors_text(2304, (64, 7, 7)), factors_text(3136, (64, 7, 7))
    ('2304 = 64·6·6', '3136 = 64·7·7')
    """
    if not factors or len(factors) < 2:
        return str(n)
    if math.prod(factors) == n:
        return f"{n} = " + "·".join(str(f) for f in factors)
    c, nd = factors[0], len(factors) - 1
    if n % c == 0:
        side = round((n // c) ** (1 / nd))
        for s in (side - 1, side, side + 1):
            if s > 0 and s**nd == n // c:
                return f"{n} = {c}·" + "·".join([str(s)] * nd)
    return str(n)


def _layout_axis(axis: int | None, rank: int, layout: str) -> int:
    """Framework axis (batch counted, negatives allowed) → canonical per-sample axis."""
    if axis is None:
        return 0
    fa = axis % (rank + 1)
    if fa == 0:
        raise ShapeError("cannot work along the batch axis")
    li = fa - 1
    if layout == "channels_last" and rank > 1:
        return 0 if li == rank - 1 else li + 1
    return li


# -- handlers -------------------------------------------------------------------------------


def _input(node: Node, ins: list[LayerInfo], out: LayerInfo, st: _State) -> None:
    shape = tuple(int(s) for s in node.attrs["shape"])
    if any(s < 1 for s in shape):
        raise ShapeError(f"input shape {shape} has a size below 1")
    out.shape = shape
    if node.name == st.primary:
        st.input_sizes = shape[1:]
        out.rf = tuple(AxisRF.identity() for _ in shape[1:])
    out.factors = shape


class _Window:
    """What a convolution, transposed convolution or pooling node decides from its attributes and
    its input shape alone: everything but the receptive field, which depends on the path before it.

    Networks repeat the same layer on the same shape many times, so these are memoised
    (:func:`_windowed`); the fields default to :class:`LayerInfo`'s, so a layer that fails half-way
    leaves the same partial row as before.
    """

    __slots__ = ("error", "geometry", "macs", "maps", "pads", "params", "shape", "warnings")

    def __init__(self) -> None:
        self.params = self.macs = 0
        self.geometry: Any = None
        self.pads: Any = None  # the (frozen) geometry's pads, computed at the first apply
        self.shape: tuple[int, ...] | None = None
        self.maps: tuple[AxisMap, ...] | None = None
        self.warnings: tuple[str, ...] = ()
        self.error = ""  # a ShapeError found after everything else was known (input channels)

    def apply(self, x: LayerInfo, out: LayerInfo) -> None:
        out.params = out.trainable = self.params
        if self.geometry is not None:
            if self.pads is None:
                self.pads = self.geometry.pads
            out.geometry, out.pads = self.geometry, self.pads
        out.shape, out.macs = self.shape, self.macs
        if self.maps is not None:
            out.rf = _map_rf(x, self.maps)
        if self.warnings:
            out.warnings.extend(f"{out.name}: {text}" for text in self.warnings)


_WindowMaker = Callable[[Node, LayerInfo, _Window], None]
_MEMO: dict[tuple[Any, ...], _Window] = {}
_MEMO_LIMIT = 4096
_KEYS = {
    "conv": ("filters", "kernel", "stride", "padding", "dilation", "groups", "bias", "in_channels", "depthwise"),
    "conv_transpose": ("filters", "kernel", "stride", "padding", "dilation", "groups", "bias", "in_channels",
                       "depthwise", "output_padding", "output_size", "rule"),
    "pool": ("kernel", "stride", "padding", "dilation", "ceil_mode", "rule"),
}
_MISSING, _TRUE, _FALSE = object(), object(), object()


def _key(node: Node, shape: tuple[int, ...]) -> tuple[Any, ...] | None:
    """The memo key of a windowed node, or None where an attribute is not a plain int, str, bool,
    ``None``, parsed :class:`Padding` or tuple of ints (pairs): ``3`` and ``3.0`` or ``True`` and ``1``
    compare equal but do not behave alike, so only values whose type the key pins are memoised."""
    get = node.attrs.get
    key: list[Any] = [node.op, shape]
    for name in _KEYS[node.op]:
        v = get(name, _MISSING)
        t = type(v)
        if t in _PLAIN:
            pass
        elif t is bool:
            v = _TRUE if v else _FALSE
        elif t is tuple:
            for item in v:
                if type(item) is not int and not (type(item) is tuple and len(item) == 2
                                                  and type(item[0]) is int and type(item[1]) is int):
                    return None
        else:
            return None
        key.append(v)
    return tuple(key)


_PLAIN = frozenset({int, str, type(None), Padding, object})  # object: the type of _MISSING (and only it here)


def _windowed(node: Node, ins: list[LayerInfo], out: LayerInfo, st: _State) -> None:
    """The handler of convolutions, transposed convolutions and pooling (their :data:`_MAKERS`), memoised."""
    if len(ins) != 1:
        raise ShapeError(f"takes one input, got {len(ins)}")
    x = ins[0]
    assert x.shape is not None
    key = _key(node, x.shape)
    w = _MEMO.get(key) if key is not None else None
    if w is None:
        make = _MAKERS[node.op]
        w = _Window()
        try:
            make(node, x, w)
        except (ShapeError, PaddingError):
            w.apply(x, out)  # what was known before the error, as the row shows it
            raise
        if key is not None:
            if len(_MEMO) >= _MEMO_LIMIT:
                _MEMO.clear()
            _MEMO[key] = w
    w.apply(x, out)
    if w.error:
        raise ShapeError(w.error)


class _ConvArgs:
    """What convolutions and transposed convolutions read from a node and their input."""

    def __init__(self, node: Node, x: LayerInfo) -> None:
        self.x = x
        self.c, self.sp = _spatial(self.x, node)
        nd = self.nd = len(self.sp)
        self.k, self.s = _axes(node, "kernel", nd), _axes(node, "stride", nd)
        self.d = _axes(node, "dilation", nd)
        self.groups, self.filters = int(node.attrs.get("groups", 1)), int(node.attrs["filters"])
        self.expected = node.attrs.get("in_channels")
        self.c_in = self.c if self.expected is None else int(self.expected)
        if node.attrs.get("depthwise"):  # Keras DepthwiseConv: filters is the depth multiplier
            self.groups, self.filters = self.c_in, self.c_in * self.filters
        if self.c_in % self.groups or self.filters % self.groups:
            raise ShapeError(f"{self.c_in} input channels and {self.filters} filters must both divide into "
                             f"{self.groups} groups")
        self.bias = self.filters if node.attrs.get("bias", True) else 0

    def check_channels(self, w: _Window) -> None:
        if self.expected is not None and self.c_in != self.c:
            w.error = f"expects {self.expected} input channels, gets {self.c}"


def _conv_window(node: Node, x: LayerInfo, w: _Window) -> None:
    a = _ConvArgs(node, x)
    sp, nd, k, s, d, filters, bias = a.sp, a.nd, a.k, a.s, a.d, a.filters, a.bias
    weights = (a.c_in // a.groups) * math.prod(k) * filters
    w.params = weights + bias
    g = conv(sp, k, s, Padding.parse(node.attrs.get("padding", "valid"), nd), d)
    w.geometry = g
    w.shape = (filters, *g.output)
    w.macs = (weights + bias) * math.prod(g.output)
    w.maps = tuple(AxisMap.window(k[i], s[i], g.pads[i][0], d[i]) for i in range(nd))
    w.warnings = _window_warnings(g.axes)
    a.check_channels(w)


def _conv_transpose_window(node: Node, x: LayerInfo, w: _Window) -> None:
    a = _ConvArgs(node, x)
    sp, nd, k, s, d, filters, bias = a.sp, a.nd, a.k, a.s, a.d, a.filters, a.bias
    weights = a.c_in * (filters // a.groups) * math.prod(k)
    w.params = weights + bias
    op, size = node.attrs.get("output_padding"), node.attrs.get("output_size")
    g = conv_transpose(sp, k, s, Padding.parse(node.attrs.get("padding", 0), nd),
                       None if op is None else per_axis(op, nd, "output_padding"), d,
                       str(node.attrs.get("rule", "keras")),
                       None if size is None else per_axis(size, nd, "output_size"))
    w.geometry = g
    w.shape = (filters, *g.output)
    w.macs = weights * math.prod(sp) + bias * math.prod(g.output)
    w.maps = tuple(AxisMap.transposed(k[i], s[i], g.pads[i][0], d[i]) for i in range(nd))
    w.warnings = _window_warnings(g.axes, transposed=True)
    a.check_channels(w)


def _pool_window(node: Node, x: LayerInfo, w: _Window) -> None:
    c, sp = _spatial(x, node)
    nd = len(sp)
    k, d = _axes(node, "kernel", nd), _axes(node, "dilation", nd)
    stride = node.attrs.get("stride")
    s = k if stride is None else per_axis(stride, nd, "stride")
    g = pool(sp, k, s, Padding.parse(node.attrs.get("padding", "valid"), nd), d,
             bool(node.attrs.get("ceil_mode", False)), str(node.attrs.get("rule", "torch")))
    w.geometry = g
    w.shape = (c, *g.output)
    w.maps = tuple(AxisMap.window(k[i], s[i], g.pads[i][0], d[i]) for i in range(nd))
    w.warnings = _window_warnings(g.axes)


def _global_pool(node: Node, ins: list[LayerInfo], out: LayerInfo, st: _State) -> None:
    x = _one(ins, node)
    c, sp = _spatial(x, node)
    out.shape = (c, *([1] * len(sp))) if node.attrs.get("keepdims") else (c,)
    out.rf, out.rf_global = x.rf, True


def _pad(node: Node, ins: list[LayerInfo], out: LayerInfo, st: _State) -> None:
    x = _one(ins, node)
    c, sp = _spatial(x, node)
    nd = len(sp)
    key, sign = ("crops", -1) if node.op == "crop" else ("pads", 1)
    spec = Padding.parse(node.attrs[key], nd)
    pairs: list[tuple[int, int]] = []
    for i, ax in enumerate(spec.axes):
        if isinstance(ax, str):
            raise ShapeError(f"{key} must be explicit numbers, got {ax!r} on {axis_names(nd)[i]}")
        pairs.append((sign * ax[0], sign * ax[1]))
    sizes = tuple(n + b + a for n, (b, a) in zip(sp, pairs, strict=True))
    out.pads = tuple(pairs)
    if any(n < 1 for n in sizes):
        out.shape = None
        raise ShapeError(f"{key} {tuple(pairs)} leave {_fmt(sizes)} of a {_fmt(sp)} input")
    out.shape = (c, *sizes)
    out.rf = _map_rf(x, [AxisMap.shift(b) for b, _ in pairs])
    for name, (b, a) in zip(axis_names(nd), pairs, strict=True):
        if b != a:
            what = "crop" if sign < 0 else "pads"
            out.warnings.append(f"{out.name}: asymmetric {what} {(sign * b, sign * a)} on {name}")


def _scale(value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Fraction)):
        raise ShapeError(f"scale must be a number, got {value!r}")
    return Fraction(str(value)) if isinstance(value, float) else Fraction(value)


def _upsample(node: Node, ins: list[LayerInfo], out: LayerInfo, st: _State) -> None:
    x = _one(ins, node)
    c, sp = _spatial(x, node)
    nd = len(sp)
    size = node.attrs.get("size")
    if size is not None:
        sizes = per_axis(size, nd, "size")
    else:
        raw = node.attrs.get("scale", 2)
        scales = [_scale(v) for v in (raw if isinstance(raw, (list, tuple)) else [raw] * nd)]
        if len(scales) != nd:
            raise ShapeError(f"scale has {len(scales)} values for {nd} spatial axes")
        sizes = tuple(math.floor(n * f) for n, f in zip(sp, scales, strict=True))
    if any(n < 1 for n in sizes):
        raise ShapeError(f"upsampling {_fmt(sp)} gives {_fmt(sizes)}")
    out.shape = (c, *sizes)
    mode, corners = str(node.attrs.get("mode", "nearest")), bool(node.attrs.get("align_corners", False))
    out.rf = _map_rf(x, [AxisMap.resize(a, b, mode, corners) for a, b in zip(sp, sizes, strict=True)])


def _crop_hint(graph: Graph, name: str, crops: Sequence[tuple[int, int]]) -> str:
    nd = len(crops)
    if graph.framework == "keras" and nd in (1, 2, 3):
        same = len(set(crops)) == 1 and crops[0][0] == crops[0][1]
        arg = str(crops[0][0]) if same else str(tuple(crops))
        return f"Cropping{nd}D({arg}) on {name}"
    slices = ", ".join(f"{b}:{-a if a else ''}" for b, a in crops)
    return f"{name}[..., {slices}]"


def broadcast(*shapes: Any) -> tuple[int, ...] | None:
    """numpy's broadcast of ``shapes`` (``None`` where they do not); ``torch.broadcast_shapes`` is slow Python.

    >>> broadcast((2, 1, 5), (3, 1)), broadcast((2, 3), (4, 3))
    ((2, 3, 5), None)
    """
    rank = max(len(s) for s in shapes)
    out = [1] * rank
    for shape in shapes:
        for i, n in enumerate(shape, rank - len(shape)):
            n = int(n)
            if n != 1:
                if out[i] != 1 and out[i] != n:
                    return None
                out[i] = n
    return tuple(out)


def _merge(node: Node, ins: list[LayerInfo], out: LayerInfo, st: _State) -> None:
    if len(ins) < 2:
        raise ShapeError(f"needs at least two inputs, got {len(ins)}")
    shapes = [i.shape for i in ins if i.shape is not None]
    first = shapes[0]
    concat = node.op == "concat"
    if not concat:
        if all(sh == first for sh in shapes):  # the usual residual add: nothing to reconcile
            out.shape = first
            _merge_rf(out, ins, [i.rf for i in ins], shapes, len(first) < 2)
            return
        if len(shapes) == 2 and len(shapes[1]) == len(first):  # a gate or a scale: broadcast sizes of 1
            fitted = broadcast(first, shapes[1])
            if fitted is not None:
                out.shape = fitted
                _merge_rf(out, ins, [i.rf for i in ins], shapes, len(first) < 2)
                return
    elif len(first) > 1:  # the usual concatenation: along channels, of equal spatial sizes
        spatial, channels = first[1:], 0
        for sh in shapes:
            if len(sh) != len(first) or sh[1:] != spatial:
                break
            channels += sh[0]
        else:
            if _layout_axis(node.attrs.get("axis"), len(first), st.graph.layout) == 0:
                out.shape = (channels, *spatial)
                _merge_rf(out, ins, [i.rf for i in ins], shapes, False)
                return
    ranks = {len(sh) for sh in shapes}
    if len(ranks) != 1:
        listed = ", ".join(f"{_fmt(sh)} ({i.name})" for sh, i in zip(shapes, ins, strict=True))
        raise ShapeError(f"inputs differ in rank: {listed}")
    rank = ranks.pop()
    axis = _layout_axis(node.attrs.get("axis"), rank, st.graph.layout) if concat else -1
    maps: list[list[AxisMap] | None] = [None] * len(ins)
    result = [sum(sh[d] for sh in shapes) if d == axis else (min if concat else max)(sh[d] for sh in shapes)
              for d in range(rank)]
    stretched = set() if concat else {1}  # sizes that broadcast
    conflict = [d for d in range(rank) if d != axis and len({sh[d] for sh in shapes} - stretched) > 1]
    if conflict:
        spatial_only = all(dim > 0 for dim in conflict) and rank > 1
        what = {"concat": "concatenate", "add": "add", "mul": "multiply"}[node.op]
        text = f"cannot {what} " + " with ".join(
            f"{_fmt(s[1:] if spatial_only else s)} ({i.name})" for s, i in zip(shapes, ins, strict=True))
        if spatial_only:
            target = [min(s[d] for s in shapes) for d in range(1, rank)]
            hints = []
            for idx, (s, i) in enumerate(zip(shapes, ins, strict=True)):
                crops = [centre_crop(n, t) for n, t in zip(s[1:], target, strict=True)]
                if any(b or a for b, a in crops):
                    hints.append(f"crop {i.name} by {tuple(crops)} (before, after) per axis: "
                                 + _crop_hint(st.graph, i.name, crops))
                    maps[idx] = [AxisMap.shift(-b) for b, _ in crops]
            text += "; " + "; ".join(hints) + f" (a centre crop to {_fmt(target)}, as the U-Net paper does)"
            result[1:] = target
        out.errors.append(f"{node.name} ({node.type}): {text}")
    out.shape = tuple(result)
    _merge_rf(out, ins, [_map_rf(i, m) for i, m in zip(ins, maps, strict=True)], shapes, rank < 2 or bool(conflict))


def _merge_rf(out: LayerInfo, ins: list[LayerInfo], rfs: list[tuple[AxisRF, ...] | None],
              shapes: list[tuple[int, ...]], every: bool) -> None:
    """The receptive field where branches meet: the union over the inputs that vary with position
    (``every``: all of them, else those whose spatial sizes are the output's), and their misalignment.

    (Plain loops, no generators: a residual network runs this once per block.)
    """
    # Broadcast inputs (size 1 against more, e.g. a squeeze-excitation gate) and global ones are
    # the same for every unit: the union runs over the inputs that vary with position.
    assert out.shape is not None
    spatial = out.shape[1:]
    local = []
    for r, i, sh in zip(rfs, ins, shapes, strict=True):
        if r is not None and not i.rf_global and (every or sh[1:] == spatial):
            local.append(r)
    known = local or [r for r in rfs if r is not None]
    if not known:
        return
    one = known[0]
    nd = len(one)
    if not nd:
        return  # vectors (no spatial axis) have no RF
    same = True
    for r in known:
        if len(r) != nd:
            return
        if r is not one:
            same = False
    rf_global = False
    if not local:
        for i in ins:
            if i.rf_global:
                rf_global = True
                break
    out.rf_global = rf_global
    if same:  # one branch (or the same one twice): its own field, aligned
        out.rf, out.misalignment = one, _ALIGNED.get(nd) or tuple(_ZERO for _ in one)
        return
    out.rf, spreads = union_per_axis(known)
    out.misalignment = spreads
    if any(spreads):
        names = axis_names(nd)
        spread: dict[Fraction, list[str]] = {}
        for a, mis in enumerate(spreads):
            if mis:
                spread.setdefault(mis, []).append(names[a])
        for mis, axes in spread.items():
            out.warnings.append(f"{out.name}: branch centres are misaligned by {_num(mis)} px on "
                                f"{' and '.join(axes)}")
    stride = one[0].stride
    for r in known:
        s = r[0].stride
        if s is not stride and s != stride:
            out.warnings.append(f"{out.name}: branches have different effective strides")
            break


_ZERO = Fraction(0)
_ALIGNED = {n: (_ZERO,) * n for n in range(1, 4)}


def _num(x: Fraction) -> str:
    return str(int(x)) if x.denominator == 1 else f"{float(x):g}"


def _flatten(node: Node, ins: list[LayerInfo], out: LayerInfo, st: _State) -> None:
    x = _one(ins, node)
    assert x.shape is not None
    out.shape = (math.prod(x.shape),)
    out.factors = x.shape if len(x.shape) > 1 else x.factors
    out.rf, out.rf_global = x.rf, x.rf_global or len(x.shape) > 1


def _reshape(node: Node, ins: list[LayerInfo], out: LayerInfo, st: _State) -> None:
    x = _one(ins, node)
    assert x.shape is not None
    total = math.prod(x.shape)
    target = [int(t) for t in node.attrs["target"]]
    factors = x.shape if len(x.shape) > 1 else x.factors
    known = math.prod(t for t in target if t != -1)
    if node.attrs.get("batch_absorbing"):
        if known != total:
            out.shape, out.factors = (total,), factors
            out.rf, out.rf_global = x.rf, x.rf_global or len(x.shape) > 1
            raise ShapeError(
                f"a sample has {factors_text(total, factors)} values but the view asks for rows of "
                f"{factors_text(known, factors)}; the -1 absorbs the batch, so rows mix samples "
                f"(and most batch sizes fail at run time)")
        target = [t for t in target if t != -1]
    if target.count(-1) > 1:
        raise ShapeError(f"target {tuple(target)} has more than one -1")
    if -1 in target:
        if known == 0 or total % known:
            raise ShapeError(f"cannot reshape {factors_text(total, factors)} values into {tuple(target)}")
        target[target.index(-1)] = total // known
    elif known != total:
        raise ShapeError(f"cannot reshape {factors_text(total, factors)} values into {tuple(target)}")
    out.shape = to_canonical(target, st.graph.layout)
    out.factors = factors
    out.rf, out.rf_global = x.rf, x.rf_global or out.shape != x.shape


def _dense(node: Node, ins: list[LayerInfo], out: LayerInfo, st: _State) -> None:
    x = _one(ins, node)
    assert x.shape is not None
    rank = len(x.shape)
    axis = 0 if rank == 1 or st.graph.layout == "channels_last" else rank - 1
    n_in = x.shape[axis]
    units = int(node.attrs["units"])
    expected = node.attrs.get("in_features")
    f_in = n_in if expected is None else int(expected)
    bias = units if node.attrs.get("bias", True) else 0
    out.params = out.trainable = f_in * units + bias
    shape = list(x.shape)
    shape[axis] = units
    out.shape = tuple(shape)
    out.macs = out.params * (math.prod(x.shape) // n_in)
    out.factors = None
    out.rf, out.rf_global = x.rf, x.rf_global or axis > 0
    if expected is not None and f_in != n_in:
        raise ShapeError(f"expects {factors_text(f_in, x.factors)} input features, "
                         f"gets {factors_text(n_in, x.factors)}")


def _norm(node: Node, ins: list[LayerInfo], out: LayerInfo, st: _State) -> None:
    x = _one(ins, node)
    assert x.shape is not None
    get = node.attrs.get
    features = get("features")
    n = int(features) if features is not None else x.shape[0]
    affine = get("affine", True)
    vectors = (2 if affine else 0) if isinstance(affine, bool) else int(affine)
    out.trainable = out.macs = vectors * n
    stats = 2 * n if get("stats", True) and get("stats_are_params") else 0
    out.params = out.trainable + stats + int(get("extra_params", 0))
    out.shape, out.rf, out.factors, out.rf_global = x.shape, x.rf, x.factors, x.rf_global


def _passthrough(node: Node, ins: list[LayerInfo], out: LayerInfo, st: _State) -> None:
    x = _one(ins, node)
    out.shape, out.rf, out.factors, out.rf_global = x.shape, x.rf, x.factors, x.rf_global


def _opaque(node: Node, ins: list[LayerInfo], out: LayerInfo, st: _State) -> None:
    out.shape = tuple(map(int, node.attrs["shape"]))
    if node.attrs.get("follow_input") and len(ins) == 1 and ins[0].shape is not None:
        out.shape = (out.shape[0], *ins[0].shape[1:])  # spatial sizes follow the input (``sizes`` sets it)
    out.params = int(node.attrs.get("params", 0))
    out.trainable = int(node.attrs.get("trainable", out.params))
    if len(ins) == 1 and ins[0].shape is not None:
        out.rf, out.rf_global = ins[0].rf, ins[0].rf_global or ins[0].shape[1:] != out.shape[1:]


_MAKERS: dict[str, _WindowMaker] = {"conv": _conv_window, "conv_transpose": _conv_transpose_window,
                                   "pool": _pool_window}
_PASSTHROUGH = frozenset({"activation", "dropout", "identity"})  # (their handler: _passthrough)
_HANDLERS: dict[str, Handler] = {
    "input": _input, "conv": _windowed, "conv_transpose": _windowed, "pool": _windowed,
    "global_pool": _global_pool, "pad": _pad, "crop": _pad, "upsample": _upsample,
    "concat": _merge, "add": _merge, "mul": _merge, "flatten": _flatten, "reshape": _reshape,
    "dense": _dense, "norm": _norm, "activation": _passthrough, "dropout": _passthrough,
    "identity": _passthrough, "opaque": _opaque,
}
