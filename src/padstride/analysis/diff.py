"""Compare two models of any frameworks layer by layer: :func:`diff` → :class:`ModelDiff`.

The structural layers of each side (convolutions, pools, pads folded into the window that
follows them, dense layers, upsampling, merges) are aligned in order — by name where both sides
share names, by op kind otherwise — and compared in canonical layout (channels first): output
shape, per-side pads, kernel, stride, dilation, parameters. Padding written differently compares
equal when the per-side pads are the same (TF ``SAME`` at stride 1 with an odd kernel is PyTorch's
``padding=k//2``; a ``ZeroPadding2D`` before a ``valid`` convolution is a convolution with those
pads). A parameter count that differs by exactly the bias of a convolution or dense layer is a
note, not a difference (a BatchNorm folded into the convolution by an ONNX export).

>>> from padstride.analysis import GraphBuilder
>>> def net(padding):
...     b = GraphBuilder("net")
...     x = b.conv(b.input((3, 32, 32)), 8, 3, stride=2, padding=padding)
...     _ = b.conv(x, 8, 3, padding="same")
...     return b.build()
>>> d = diff(net("same"), net(1))
>>> d.same, d.first.a, d.first.fields
(False, 'conv', ('pads',))
>>> diff(net(((0, 1), (0, 1))), net("same")).same
True
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .attrs import ConcatAttrs, ConvAttrs, DenseAttrs, InputAttrs, Ints, PadAttrs, PoolAttrs, view
from .ir import Node, to_layout
from .layer import LayerInfo, axis_names
from .load import ModelError, _framework, _load, load_object
from .propagate import propagate
from .summary import Summary

__all__ = ["STRUCTURAL", "LayerDiff", "ModelDiff", "compare", "diff"]

#: Ops that are compared; every other op (norms, activations, reshapes…) is skipped.
STRUCTURAL: tuple[str, ...] = ("conv", "conv_transpose", "pool", "global_pool", "pad", "crop", "upsample",
                               "dense", "concat", "add")

_FIELDS: tuple[str, ...] = ("shape", "pads", "kernel", "stride", "dilation", "divisor", "params")


@dataclass(frozen=True)
class _Layer:
    """One structural layer as compared: canonical values, ``None`` where the op has none."""

    name: str
    type: str
    op: str
    key: str
    shape: tuple[int, ...] | None
    pads: tuple[tuple[int, int], ...] | None
    kernel: tuple[int, ...] | None
    stride: tuple[int, ...] | None
    dilation: tuple[int, ...] | None
    params: int
    bias: int
    divisor: str | None = None  # average pools over pads: which cells the mean divides by
    folded: str = ""  # the name of a pad layer folded into this one

    def value(self, name: str) -> Any:
        return getattr(self, name)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.type})" + (f" [+ {self.folded}]" if self.folded else "")


@dataclass
class LayerDiff:
    """One row: a pair of matched layers, or a layer found on one side only (``a`` or ``b`` is None).

    ``fields`` are the compared values that disagree; ``notes`` explain them or say what was
    tolerated (a folded BatchNorm's bias).
    """

    a: str | None
    b: str | None
    type_a: str = ""
    type_b: str = ""
    fields: tuple[str, ...] = ()
    values_a: dict[str, Any] = field(default_factory=dict)
    values_b: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return self.a is not None and self.b is not None and not self.fields

    def text(self) -> str:
        """What differs, in one line."""
        if self.a is None:
            return f"only in B: {self.b} ({self.type_b})"
        if self.b is None:
            return f"only in A: {self.a} ({self.type_a})"
        parts = [f"{f} {_fmt(self.values_a.get(f))} vs {_fmt(self.values_b.get(f))}" for f in self.fields]
        return "; ".join(parts + self.notes)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return ",".join(f"({b},{a})" for b, a in value)
    if isinstance(value, tuple):
        return "×".join(str(v) for v in value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class ModelDiff:
    """The comparison of two models; ``str()`` is the table, :meth:`to_dict` the JSON."""

    a: Summary
    b: Summary
    rows: list[LayerDiff]
    notes: list[str] = field(default_factory=list)

    @property
    def differences(self) -> list[LayerDiff]:
        return [r for r in self.rows if not r.same]

    @property
    def same(self) -> bool:
        return not self.differences

    @property
    def first(self) -> LayerDiff | None:
        """The first disagreement in the order of A (None when the models agree)."""
        found = self.differences
        return found[0] if found else None

    @property
    def matched(self) -> int:
        return sum(1 for r in self.rows if r.a is not None and r.b is not None)

    def summary_line(self) -> str:
        a, b = self.a.graph, self.b.graph
        head = (f"A: {a.name} ({a.framework}), {len(self.a.layers)} layers, {self.a.total_params:,} params; "
                f"B: {b.name} ({b.framework}), {len(self.b.layers)} layers, {self.b.total_params:,} params")
        if self.same:
            return head + f"\nThe models agree: {self.matched} structural layers matched, no difference"
        first = self.first
        assert first is not None
        where = f"{first.a or '-'} / {first.b or '-'}"
        return (head + f"\n{len(self.differences)} difference(s) in {len(self.rows)} structural layers "
                f"({self.matched} matched); first at {where}: {first.text()}")

    def table(self) -> str:
        header = ["#", "A", "B", "Output shape", "Pads", "Differences"]
        rows: list[list[str]] = []
        for i, r in enumerate(self.rows):
            if r.same:
                continue
            shape = _fmt(r.values_a.get("shape") if r.a is not None else r.values_b.get("shape"))
            pads = _fmt(r.values_a.get("pads") if r.a is not None else r.values_b.get("pads"))
            rows.append([str(i), f"{r.a} ({r.type_a})" if r.a else "-", f"{r.b} ({r.type_b})" if r.b else "-",
                         shape, pads, "ok: " + "; ".join(r.notes) if r.same else r.text()])
        lines = [f'Diff: "{self.a.graph.name}" vs "{self.b.graph.name}"']
        if rows:
            widths = [max(len(row[c]) for row in [header, *rows]) for c in range(len(header) - 1)]

            def fmt(row: list[str]) -> str:
                return "  ".join([c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)] + [row[-1]]).rstrip()

            rule = "─" * min(120, len(fmt(header)) + 20)
            lines += [rule, fmt(header), rule, *(fmt(r) for r in rows), rule]
        lines += self.summary_line().split("\n")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``same``, ``differences`` (count), ``first``, every row, totals of both sides."""

        def side(s: Summary) -> dict[str, Any]:
            g = s.graph
            return {"name": g.name, "framework": g.framework, "layout": g.layout, "layers": len(s.layers),
                    "total_params": s.total_params}

        def row(r: LayerDiff) -> dict[str, Any]:
            return {"a": r.a, "b": r.b, "type_a": r.type_a, "type_b": r.type_b, "same": r.same,
                    "fields": list(r.fields), "text": "" if r.same else r.text(), "notes": list(r.notes),
                    "a_values": {k: _jsonable(v) for k, v in r.values_a.items()},
                    "b_values": {k: _jsonable(v) for k, v in r.values_b.items()}}

        first = self.first
        return {"same": self.same, "differences": len(self.differences), "matched": self.matched,
                "first": None if first is None else row(first), "a": side(self.a), "b": side(self.b),
                "rows": [row(r) for r in self.rows], "notes": list(self.notes)}


# -- collecting the structural layers -----------------------------------------------------------


def _axes(value: Ints | None, key: str, nd: int, default: Ints | None = 1) -> tuple[int, ...] | None:
    from ..geometry import per_axis

    if value is None:
        value = default
    if value is None:
        return None
    return tuple(per_axis(value, nd, key))


def _layers(summary: Summary) -> list[_Layer]:
    """Structural layers in graph order, zero pads folded into the window layer that reads them."""
    graph = summary.graph
    infos = {i.name: i for i in summary.layers}
    users: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for name in node.inputs:
            users.setdefault(name, []).append(node)
    # The next structural node downstream of each node along a single-consumer chain of skipped ops.
    folded: dict[str, str] = {}  # window layer → pad layer folded into it
    for node in graph.nodes:
        if node.op != "pad":
            continue
        pad = view(node, PadAttrs)
        if str(pad.get("mode", "constant")) not in ("constant", "zeros") or pad.get("value", 0) not in (0, 0.0, None):
            continue
        nxt = users.get(node.name, [])
        if len(nxt) == 1 and nxt[0].op in ("conv", "pool") and infos[node.name].pads is not None:
            folded[nxt[0].name] = node.name
    out: list[_Layer] = []
    for node in graph.nodes:
        if _is_global_reduce(node, infos):
            node = Node(node.name, "global_pool", node.inputs, {}, node.type)
        if node.op not in STRUCTURAL or node.name in folded.values():
            continue
        nxt = users.get(node.name, [])
        axis = view(node, ConcatAttrs).get("axis")
        if node.op == "concat" and nxt and all(u.op == "concat" and view(u, ConcatAttrs).get("axis") == axis
                                               for u in nxt):
            continue  # concat(a, concat(b, c)) is concat(a, b, c): exports flatten it
        info = infos[node.name]
        out.append(_layer(node, info, infos.get(folded.get(node.name, "")), folded.get(node.name, "")))
    return out


def _is_global_reduce(node: Node, infos: dict[str, LayerInfo]) -> bool:
    """An ONNX ``ReduceMean``/``ReduceMax`` over every spatial axis (a Keras global pool exported) is a global pool."""
    if node.op != "opaque" or node.type not in ("ReduceMean", "ReduceMax") or len(node.inputs) < 1:
        return False
    x, y = infos[node.inputs[0]].shape, infos[node.name].shape
    return (x is not None and y is not None and len(x) > 1 and len(y) >= 1 and y[0] == x[0]
            and all(v == 1 for v in y[1:]))


def _layer(node: Node, info: LayerInfo, pad: LayerInfo | None, pad_name: str) -> _Layer:
    nd = len(info.pads) if info.pads is not None else max(len(info.spatial), 0)
    window = node.op in ("conv", "conv_transpose", "pool")
    w = view(node, PoolAttrs) if node.op == "pool" else view(node, ConvAttrs)
    kernel = _axes(w.get("kernel"), "kernel", nd) if window and nd else None
    stride = _axes(w.get("stride"), "stride", nd, w.get("kernel") if node.op == "pool" else 1) if window and nd \
        else None
    dilation = _axes(w.get("dilation"), "dilation", nd) if window and nd else None
    pads = info.pads
    if pad is not None and pad.pads is not None and pads is not None:
        pads = tuple((b0 + b1, a0 + a1) for (b0, a0), (b1, a1) in zip(pad.pads, pads, strict=True))
    pool = view(node, PoolAttrs)
    key = node.op + (":" + str(pool.get("kind", "")) if node.op == "pool" else "")
    shape = info.shape
    if node.op == "global_pool" and shape is not None:
        shape = shape[:1]  # keepdims or not: the same features
    bias = 0
    units = view(node, DenseAttrs).get("units")
    if node.op == "dense" and units is not None:
        bias = int(units)  # a Linear on the last axis of a feature map (ConvNeXt) too
    elif node.op in ("conv", "conv_transpose") and info.shape:
        bias = info.shape[0]
    divisor = None
    if node.op == "pool" and pool.get("kind") == "avg" and pads is not None and any(map(any, pads)):
        own = info.pads is not None and any(map(any, info.pads))
        counts = bool(pool.get("count_include_pad", True))
        divisor = "all cells" if counts or not own else "mixed" if pad_name else "valid cells"
    return _Layer(node.name, node.type, node.op, key, shape, pads, kernel, stride, dilation, info.params,
                  bias, divisor, pad_name)


# -- alignment -----------------------------------------------------------------------------------


def _align(a: list[_Layer], b: list[_Layer]) -> list[tuple[_Layer | None, _Layer | None]]:
    """Pairs in order: by name where both sides share most names, then by op kind in the gaps."""
    names_b = {x.name for x in b}
    shared = sum(1 for x in a if x.name in names_b)
    by_name = bool(a) and shared >= 0.5 * min(len(a), len(b))
    pairs = _match(a, b, by_name)
    # Branches written in another order (an export's topological order): pair the left-overs that agree.
    lone_b: dict[tuple[Any, ...], list[int]] = {}
    for i, (x, y) in enumerate(pairs):
        if x is None and y is not None:
            lone_b.setdefault(_signature(y), []).append(i)
    drop: set[int] = set()
    for i, (x, y) in enumerate(pairs):
        if y is None and x is not None and lone_b.get(_signature(x)):
            j = lone_b[_signature(x)].pop(0)
            pairs[i] = (x, pairs[j][1])
            drop.add(j)
    return [p for i, p in enumerate(pairs) if i not in drop]


def _signature(x: _Layer) -> tuple[Any, ...]:
    return (x.key, *(x.value(f) for f in _FIELDS))


def _match(a: list[_Layer], b: list[_Layer], by_name: bool) -> list[tuple[_Layer | None, _Layer | None]]:
    """Align gap by gap: by name and every compared value, by the values, by op and name, by op kind.

    Names alone can mislead (generated names like ``conv_2`` follow the order branches were written
    in), so a pair that agrees on everything is preferred to a pair that only shares a name.
    """
    named: list[Callable[[_Layer], Any]] = [lambda x: (x.name, _signature(x)), _signature,
                                            lambda x: (x.key, x.name)]
    levels: list[Callable[[_Layer], Any]] = named if by_name else [_signature]
    levels = [*levels, lambda x: x.key]
    return _match_at(a, b, levels)


def _match_at(a: list[_Layer], b: list[_Layer],
              levels: list[Callable[[_Layer], Any]]) -> list[tuple[_Layer | None, _Layer | None]]:
    if not a or not b:
        return [(x, None) for x in a] + [(None, y) for y in b]
    key, rest = levels[0], levels[1:]
    sm = difflib.SequenceMatcher(None, [key(x) for x in a], [key(y) for y in b], autojunk=False)
    pairs: list[tuple[_Layer | None, _Layer | None]] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            pairs += list(zip(a[i1:i2], b[j1:j2], strict=True))
        elif rest:
            pairs += _match_at(a[i1:i2], b[j1:j2], rest)
        elif tag == "replace" and i2 - i1 == j2 - j1 and all(x.op == y.op for x, y in zip(a[i1:i2], b[j1:j2],
                                                                                         strict=True)):
            pairs += list(zip(a[i1:i2], b[j1:j2], strict=True))
        else:
            pairs += [(x, None) for x in a[i1:i2]] + [(None, y) for y in b[j1:j2]]
    return pairs


# -- comparison ----------------------------------------------------------------------------------


def _compare(x: _Layer | None, y: _Layer | None) -> LayerDiff:
    row = LayerDiff(None if x is None else x.name, None if y is None else y.name,
                    "" if x is None else x.type, "" if y is None else y.type)
    for side, layer in (("values_a", x), ("values_b", y)):
        if layer is not None:
            setattr(row, side, {f: layer.value(f) for f in _FIELDS})
    if x is None or y is None:
        return row
    fields = [f for f in _FIELDS if x.value(f) != y.value(f)]
    if x.key != y.key:
        fields.insert(0, "op")
        row.values_a["op"], row.values_b["op"] = x.key, y.key
    if "params" in fields and abs(x.params - y.params) in ({x.bias} - {0}):
        fields.remove("params")
        row.notes.append(f"params {x.params:,} vs {y.params:,}: one side has a bias the other lacks "
                         "(an export's separate Add, or a BatchNorm folded into the layer?)")
    if "pads" in fields and x.pads is not None and y.pads is not None:
        names = axis_names(len(x.pads))
        shift = [(names[i], by - bx) for i, ((bx, _), (by, _)) in enumerate(zip(x.pads, y.pads, strict=False))
                 if by != bx]
        if shift:
            if len(shift) == len(names) and len({s for _, s in shift}) == 1:
                shift = [(" and ".join(names), shift[0][1])]
            moved = ", ".join(f"{abs(s)} px {'earlier' if s > 0 else 'later'} on {n}" for n, s in shift)
            head = "output shapes agree but" if "shape" not in fields else "and"
            row.notes.append(f"{head} B's windows start {moved}: the features shift")
    if x.folded or y.folded:
        row.notes.append(" and ".join(f"{tag}'s pads include the pad layer {s.folded}"
                                      for tag, s in (("A", x), ("B", y)) if s.folded))
    row.fields = tuple(fields)
    if not fields:
        row.notes = [n for n in row.notes if n.startswith("params")]
    return row


def _is_torch_ref(model: Any) -> bool:
    if _framework(model) == "torch":
        return True
    if isinstance(model, (str, Path)):
        text = str(model)
        if ":" in text and not Path(text).exists() and Path(text).suffix.lower() not in (
                ".yaml", ".yml", ".json", ".keras", ".onnx"):
            return True
    return False


def _summary(model: Any, input_shape: Any) -> Summary:
    graph, infos = _load(model, input_shape)
    if infos is None:
        infos = propagate(graph)
    return Summary(graph, list(infos.values()))


def _input_canonical(summary: Summary) -> tuple[int, ...] | None:
    inputs = summary.graph.inputs
    if len(inputs) != 1:
        return None
    shape = view(summary.graph.node(inputs[0]), InputAttrs).get("shape")
    return None if shape is None else tuple(int(s) for s in shape)


def diff(a: Any, b: Any, input_shape: Any = None, input_shape_b: Any = None) -> ModelDiff:
    """Compare models ``a`` and ``b`` (anything :func:`~padstride.analysis.analyze` reads).

    ``input_shape`` is A's (in A's layout); ``input_shape_b`` B's, by default A's input carried
    over in B's layout where B needs one (a torch model), so a Keras model (NHWC) and its torch
    port (NCHW) need no shape at all.

    >>> from padstride.analysis import GraphBuilder
    >>> b = GraphBuilder("m"); _ = b.conv(b.input((3, 9, 9)), 4, 3, padding="same")
    >>> diff(b.build(), b.build()).same
    True
    """
    a_obj = load_object(str(a)) if _is_torch_ref(a) and isinstance(a, (str, Path)) else a
    b_obj = load_object(str(b)) if _is_torch_ref(b) and isinstance(b, (str, Path)) else b
    if input_shape is None and _is_torch_ref(a_obj) and not _is_torch_ref(b_obj):
        sb = _summary(b_obj, input_shape_b)
        canon = _input_canonical(sb)
        sa = _summary(a_obj, None if canon is None else to_layout(canon, "channels_first"))
    else:
        sa = _summary(a_obj, input_shape)
        if input_shape_b is None and _is_torch_ref(b_obj):
            canon = _input_canonical(sa)
            if canon is None:
                raise ModelError("B is a torch model: give its input shape (--input-b)")
            input_shape_b = to_layout(canon, "channels_first")
        sb = _summary(b_obj, input_shape_b)
    return compare(sa, sb)


def compare(a: Summary, b: Summary) -> ModelDiff:
    """Compare two analyses already made (see :func:`diff`)."""
    rows = [_compare(x, y) for x, y in _align(_layers(a), _layers(b))]
    notes: list[str] = []
    biased = [r for r in rows if r.same and r.notes]
    if biased:
        notes.append(f"{len(biased)} matched layer(s) differ only by a bias, tolerated (an export keeps a bias "
                     f"as a separate Add, or folds a BatchNorm into the layer); first {biased[0].a} / {biased[0].b}")
    if a.total_params != b.total_params:
        norm_a, norm_b = (sum(i.params for i in s.layers if i.op == "norm") for s in (a, b))
        text = f"total params {a.total_params:,} vs {b.total_params:,}"
        if a.total_params - norm_a == b.total_params - norm_b:
            text += (f", all of it in normalization layers ({norm_a:,} vs {norm_b:,}: Keras counts BatchNorm's "
                     "moving statistics, PyTorch keeps them as buffers, an ONNX export may fold BatchNorm into "
                     "the convolutions)")
        elif sum(1 for r in rows if r.same and r.notes):
            text += " (BatchNorm folded into the layers' biases?)"
        notes.append(text)
    return ModelDiff(a, b, rows, notes)
