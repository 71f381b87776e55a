"""ONNX model → graph IR with the ``onnx`` package only (no runtime, no weights read, nothing executed).

Convolutions, pools, pads, resizes, merges, reshapes and dense layers become IR nodes whose sizes
come from :mod:`padstride.geometry`; ``auto_pad`` and ``pads`` are read by
:meth:`padstride.geometry.Padding.from_onnx`. The shape arithmetic exporters emit (``Shape`` →
``Gather`` → ``Concat`` → ``Reshape``) is folded with the model's static sizes
(:mod:`.onnx_fold`, budgeted), and every other op becomes an opaque node with the shape ONNX's
own shape inference gives for it (:mod:`.onnx_infer`); a node that cannot be read is a
:class:`~padstride.analysis.errors.ModelError` naming it. Graph inputs that are weights (an
initializer, or a static input in a weight slot, as in ONNX's conformance models) count as
parameters; inputs used only as settings (a ``Pad``'s pads) are constants of unknown value; every
other graph input is a model input (:mod:`.onnx_inputs`). A file is read without its weights
(:mod:`.onnx_file`).

>>> from onnx import TensorProto, helper
>>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])
>>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
>>> pool = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
>>> g = graph_from_onnx(helper.make_model(helper.make_graph([pool], "g", [x], [y])))
>>> g.nodes[-1].attrs["padding"], g.nodes[-1].attrs["stride"]
('same', (2, 2))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ...geometry import CEIL_RULES, Padding, PaddingError, effective_kernel, pool
from ..builder import GraphBuilder
from ..errors import ModelError
from ..ir import Graph
from ..layer import LayerInfo
from ..propagate import new_state, propagate
from .onnx_fold import Const, fold
from .onnx_infer import infer_node
from .onnx_inputs import InputShapes, input_shapes, split_inputs
from .onnx_inputs import dims_of as _dims
from .onnx_inputs import short as _short

__all__ = ["InputShapes", "analyzed_onnx", "graph_from_onnx", "read_onnx_graph"]

_FLOAT = 1
_ACTIVATIONS = {
    "Relu", "Sigmoid", "Tanh", "LeakyRelu", "Elu", "Selu", "Softmax", "LogSoftmax", "HardSigmoid", "HardSwish",
    "Softplus", "Softsign", "Clip", "Gelu", "Mish", "Exp", "Log", "Abs", "Neg", "Sqrt", "Reciprocal", "Erf", "Cast",
    "Celu", "ThresholdedRelu", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Not", "Hardmax", "Shrink",
    "LpNormalization",
}
_MERGE = {"Add": "add", "Sum": "add", "Sub": "add", "Max": "add", "Min": "add", "Mean": "add",
          "Mul": "mul", "Div": "mul", "Pow": "mul"}


class _Unknown(ModelError):
    """An input's shape is unknown after an earlier error, which the IR reports where it happened."""


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _padding(a: dict[str, Any], nd: int) -> object:
    """``pads`` / ``auto_pad`` as the IR's padding: a convention name, or per axis a ``(before, after)`` pair."""
    spec = Padding.from_onnx(a.get("pads"), a.get("auto_pad", "NOTSET"), nd)
    return spec.convention if spec.convention not in ("explicit", "mixed") else tuple(spec.axes)


class _Converter:
    def __init__(self, model: Any, input_shape: InputShapes | None, skipped: set[str], source: str) -> None:
        from onnx import defs, helper

        self.helper = helper
        self.graph = model.graph
        self.source = source
        self.opsets = {(o.domain or ""): int(o.version) for o in model.opset_import}
        self.opsets.setdefault("", defs.onnx_opset_version())
        self.b = GraphBuilder(_short(self.graph.name or source or "onnx_model"), "channels_first", "onnx")
        self.consts: dict[str, Const] = {t.name: Const.from_tensor(t, True, t.name in skipped)
                                         for t in self.graph.initializer}
        self.refs: dict[str, str] = {}  # ONNX value → IR node
        self.full: dict[str, tuple[int, ...]] = {}  # ONNX value → its shape with the batch axis
        self.lead: dict[str, int] = {}  # IR-made values: the size of axis 0 (the batch, 1 as exported)
        self.types: dict[str, int] = {}
        self.materialized: dict[str, str] = {}
        self.names: set[str] = set()
        self.used = {i for n in self.graph.node for i in n.input} | {o.name for o in self.graph.output}
        self.declared = {v.name: v for v in [*self.graph.value_info, *self.graph.output]}
        self.input_shape = input_shape
        self.overridden = input_shape is not None
        self.notes: list[str] = []
        self._live: Graph | None = None
        self._state: Any = None

    # -- inputs -----------------------------------------------------------------------------
    def _inputs(self) -> None:
        data, weights = split_inputs(self.graph, set(self.consts), self.source)
        self.consts.update(weights)
        for inp, full in zip(data, input_shapes(data, self.input_shape, self.source), strict=True):
            ref = self.b.input(full[1:], name=self._unique(_short(inp.name, 200)))
            self.refs[inp.name], self.full[inp.name] = ref, full
            self.types[inp.name] = int(inp.type.tensor_type.elem_type) or _FLOAT

    # -- bookkeeping ------------------------------------------------------------------------
    def _unique(self, base: str) -> str:
        name, i = base, 1
        while name in self.names:
            name, i = f"{base}_{i}", i + 1
        self.names.add(name)
        return name

    def where(self, node: Any) -> str:
        return f"{_short(node.name or node.output[0] if node.output else node.op_type)} ({_short(node.op_type, 40)})"

    def info(self, ref: str) -> LayerInfo:
        """The IR's propagation of ``ref``, incremental over the nodes built so far."""
        if self._state is None:
            self._live = Graph(self.b.name, self.b.nodes, (), "channels_first", "onnx")
            self._state = new_state(self._live)
        if self._state.done < len(self.b.nodes):
            try:
                propagate(self._live, self._state)  # type: ignore[arg-type]
            except (KeyboardInterrupt, MemoryError):
                raise
            except Exception as exc:
                where = next(reversed(self._state.infos), "?")
                raise ModelError(f"{_short(where)}: cannot analyse this layer "
                                 f"({type(exc).__name__}: {_short(exc, 200)})") from None
        info: LayerInfo = self._state.infos[ref]
        return info

    def full_shape(self, value: str, node: Any) -> tuple[int, ...]:
        """The shape of ``value`` with its batch axis (batch 1, as exported)."""
        if value in self.full:
            return self.full[value]
        if value in self.consts:
            shape = self.consts[value].shape
            if shape is None:
                raise ModelError(f"{self.where(node)}: the shape of constant {_short(value)!r} is unknown")
            return shape
        info = self.info(self.refs[value])
        if info.shape is None:
            causes = [e for i in self._state.infos.values() for e in i.errors][:1]
            cause = causes[0] if causes else "an upstream layer has no shape"
            raise _Unknown(f"{self.where(node)}: the shape of its input is unknown after an earlier error: "
                           f"{_short(cause, 300)}")
        full = (self.lead.get(value, 1), *info.shape)
        self.full[value] = full
        return full

    def _lead(self, value: str) -> int:
        full = self.full.get(value)
        if full is not None:
            return full[0] if full else 1
        return self.lead.get(value, 1)

    def const(self, node: Any, index: int) -> Const | None:
        name = node.input[index] if index < len(node.input) else ""
        return self.consts.get(name) if name else None

    def value(self, node: Any, index: int) -> np.ndarray | None:
        c = self.const(node, index)
        return None if c is None else c.value

    # -- conversion -------------------------------------------------------------------------
    def run(self) -> tuple[Graph, dict[str, LayerInfo]]:
        try:
            self._inputs()
        except (ModelError, KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:
            raise ModelError(f"{self.source}: cannot read the graph's inputs "
                             f"({type(exc).__name__}: {_short(exc, 200)})") from None
        for node in self.graph.node:
            try:
                self.convert(node)
            except (ModelError, KeyboardInterrupt, MemoryError):
                raise
            except PaddingError as exc:
                raise ModelError(f"{self.where(node)}: {_short(exc, 300)}") from None
            except Exception as exc:  # never a traceback: name the node that could not be read
                raise ModelError(f"{self.where(node)}: cannot read this node "
                                 f"({type(exc).__name__}: {_short(exc, 200)})") from None
        outputs = [self.refs[o.name] for o in self.graph.output if o.name in self.refs]
        g = self.b.build(outputs or None)
        g.notes = tuple(self.notes)
        state = self._state if self._state is not None else new_state(g)
        try:
            infos = propagate(g, state)
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # an attribute the IR cannot use (group 0, a stride of 0): name the layer
            where = next(reversed(state.infos), "?")
            raise ModelError(f"{_short(where)}: cannot analyse this layer "
                             f"({type(exc).__name__}: {_short(exc, 200)})") from None
        return g, infos

    def convert(self, node: Any) -> None:
        start = len(self.b.nodes)
        self._convert(node)
        self._tag(node, start)

    def _tag(self, node: Any, start: int) -> None:
        """Record on the IR nodes made for ``node`` where they come from (for porters: weights, exact op):
        ``source`` (the ONNX node's first output), ``onnx_op``, ``onnx_inputs`` (per ONNX input, its
        position among the IR node's inputs, or -1 for a constant) and ``onnx_output`` (which output of
        the ONNX node the IR node is, where not the first [0]: a ``Split``'s pieces, ``MaxPool``'s indices)."""
        for k in range(start, len(self.b.nodes)):
            n = self.b.nodes[k]
            if not n.inputs:
                continue  # a constant materialized as data: tagged by _materialize
            slots = [n.inputs.index(self.refs[i]) if i in self.refs and self.refs[i] in n.inputs else -1
                     for i in node.input]
            output = next((j for j, o in enumerate(node.output) if o and self.refs.get(o) == n.name), 0)
            extra = {"onnx_output": output} if output else {}  # recorded where it is not the first
            self.b.nodes[k] = replace(n, attrs={**n.attrs, "source": node.output[0] if node.output else n.name,
                                                "onnx_op": node.op_type, "onnx_inputs": slots, **extra})

    def _convert(self, node: Any) -> None:
        op = node.op_type
        a = {x.name: self.helper.get_attribute_value(x) for x in node.attribute}
        if op == "Constant" and node.domain in ("", "ai.onnx"):
            self.consts[node.output[0]] = self._constant(a)
            return
        for i in node.input:
            if i and i not in self.refs and i not in self.consts:
                raise ModelError(f"{self.where(node)}: input {_short(i)!r} is not produced by any earlier node")
        data = [i for i in node.input if i in self.refs]
        if op in ("Shape", "Size") and node.domain in ("", "ai.onnx"):
            try:
                full = np.array(self.full_shape(node.input[0], node), np.int64)
            except _Unknown:
                self.consts[node.output[0]] = Const(None)
                return
            value = (full[a.get("start", 0):a.get("end", len(full))] if op == "Shape"
                     else np.array(math.prod(full.tolist()), np.int64))
            self.consts[node.output[0]] = Const.of(value)
            return
        if not data:
            self._fold(node, a)
            return
        name = self._unique(_short(node.name or node.output[0] or op, 200))
        handler = _HANDLERS.get(op) if node.domain in ("", "ai.onnx") else None
        try:
            out = handler(self, node, a, name, data) if handler is not None else None
            if out is None:
                self._opaque(node, name, data)
                return
        except _Unknown:  # downstream of a shape error: pass "unknown" on, the error is reported where it is
            out = self.b.identity(self.refs[data[0]], name=name, type=op)
            self.refs.update({o: out for o in node.output if o})
            return
        self.refs[node.output[0]] = out
        self.lead[node.output[0]] = max(self._lead(i) for i in data)
        self.types[node.output[0]] = int(a["to"]) if op == "Cast" and "to" in a else self.types.get(data[0], _FLOAT)
        extra = [k for k, o in enumerate(node.output) if k and o and o in self.used]
        if extra:
            self._opaque(node, name, data, only=extra)

    def _constant(self, a: dict[str, Any]) -> Const:
        if "value" in a:
            return Const.from_tensor(a["value"], weights=False)
        for key in ("value_float", "value_int", "value_floats", "value_ints"):
            if key in a:
                return Const.of(np.array(a[key], np.float32 if "float" in key else np.int64))
        if "sparse_value" in a:
            return Const(tuple(int(d) for d in a["sparse_value"].dims), int(a["sparse_value"].values.data_type))
        return Const(None)

    def _fold(self, node: Any, a: dict[str, Any]) -> None:
        ins = [self.consts[i] if i else None for i in node.input]
        results = fold(node, ins, a)
        if results is None:  # not evaluated (unknown op, a loop, over the budget): shapes only
            params = sum(c.params for c in ins if c is not None)
            results = [Const(r[0], r[1], None, params if k == 0 else 0) if r is not None else Const(None)
                       for k, r in enumerate(self._infer(node))]
        for out, c in zip(node.output, results, strict=False):
            if out:
                self.consts[out] = c

    def _infer(self, node: Any) -> list[tuple[tuple[int, ...], int] | None]:
        types: dict[str, tuple[int, tuple[int, ...]]] = {}
        data: dict[str, np.ndarray] = {}
        for i in node.input:
            if not i or i in types:
                continue
            if i in self.refs:
                types[i] = (self.types.get(i, _FLOAT), self.full_shape(i, node))
            elif self.consts[i].shape is not None:
                c = self.consts[i]
                types[i] = (c.dtype or _FLOAT, c.shape)  # type: ignore[assignment]
                if (c.size or 0) <= 1 << 16 and c.value is not None:
                    data[i] = c.value
        found = infer_node(node, types, data, self.opsets)
        if not self.overridden:  # the file's own annotations, valid at the size it was exported with
            for k, out in enumerate(node.output):
                if found[k] is None and out in self.declared:
                    dims = _dims(self.declared[out])
                    if dims is not None and all(d is not None for d in dims):
                        elem = int(self.declared[out].type.tensor_type.elem_type)
                        found[k] = (tuple(int(d) for d in dims if d is not None), elem)
        return found

    def _opaque(self, node: Any, name: str, data: list[str], only: list[int] | None = None) -> None:
        """Outputs of ``node`` as IR nodes with the shapes shape inference gives (``only``: these outputs)."""
        found = self._infer(node)
        refs = [self.refs[i] for i in dict.fromkeys(data)]
        params = sum(self.consts[i].params for i in dict.fromkeys(node.input) if i in self.consts)
        for k, out in enumerate(node.output):
            if not out or (only is not None and k not in only) or (k and out not in self.used):
                continue
            if found[k] is None:
                what = "not supported and" if node.op_type not in _HANDLERS else "read as an opaque node, but"
                raise ModelError(f"{self.where(node)}: {what} ONNX shape inference gives no static shape for "
                                 f"output {k} ({_short(out)!r})")
            shape, elem = found[k]  # type: ignore[misc]
            ir_name = name if k == 0 else self._unique(f"{name}:{k}")
            self.refs[out] = self.b.opaque(refs, shape[1:], params if k == 0 else 0, name=ir_name,
                                           type=_short(node.op_type, 40))
            self.full[out], self.types[out] = shape, elem

    def _materialize(self, value: str) -> str | None:
        """A constant used as data (a class token concatenated to the patches): an IR node with no inputs."""
        if value in self.refs:
            return self.refs[value]
        if value not in self.materialized:
            c = self.consts[value]
            if c.shape is None or not c.shape:
                return None
            ref = self.b.opaque([], c.shape[1:], c.params, name=self._unique(_short(value, 200)), type="Constant")
            n = self.b.nodes[-1]  # ``onnx_value``: the ONNX value it holds (a porter reads it there)
            self.b.nodes[-1] = replace(n, attrs={**n.attrs, "source": value, "onnx_op": "Constant",
                                                 "onnx_value": value})
            self.materialized[value] = ref
        return self.materialized[value]

    # -- modelled ops -----------------------------------------------------------------------
    def conv(self, node: Any, a: dict[str, Any], name: str, data: list[str]) -> str | None:
        w = self.const(node, 1)
        if node.input[0] != data[0] or len(data) != 1 or w is None or w.shape is None or len(w.shape) < 3:
            return None
        k = tuple(int(v) for v in a.get("kernel_shape", w.shape[2:]))  # tuples: hashable, so propagation memoises
        nd = len(k)
        pad = _padding(a, nd)
        strides = tuple(int(v) for v in a.get("strides", [1] * nd))
        dil = tuple(int(v) for v in a.get("dilations", [1] * nd))
        group = int(a.get("group", 1))
        bias = node.op_type != "ConvInteger" and len(node.input) > 2 and bool(node.input[2])
        x = self.refs[data[0]]
        if node.op_type in ("Conv", "ConvInteger"):
            return self.b.conv(x, int(w.shape[0]), k, strides, pad, dil, group, bias,
                               in_channels=int(w.shape[1]) * group, name=name, type=node.op_type)
        short = any(effective_kernel(kk, d) < st for kk, st, d in zip(k, strides, dil, strict=False))
        if pad in ("same", "same_lower") and short:
            self.notes.append(f"{name}: ConvTranspose {_s(a['auto_pad'])} with kernel < stride: the ONNX spec gives "
                              "n·stride, onnxruntime (n−1)·stride + kernel; padstride follows the spec")
        size = [int(v) for v in a["output_shape"]][-nd:] if "output_shape" in a else None
        return self.b.conv_transpose(x, int(w.shape[1]) * group, k, strides, pad,
                                     [int(v) for v in a.get("output_padding", [0] * nd)], dil, group, bias,
                                     rule="onnx", output_size=size, in_channels=int(w.shape[0]), name=name,
                                     type=node.op_type)

    def pool(self, node: Any, a: dict[str, Any], name: str, data: list[str]) -> str | None:
        k = tuple(int(v) for v in a["kernel_shape"])
        nd = len(k)
        pad = _padding(a, nd)
        strides = tuple(int(v) for v in a.get("strides", [1] * nd))
        ceil = bool(a.get("ceil_mode", 0))
        kind = "max" if node.op_type == "MaxPool" else "avg"
        dil = tuple(int(v) for v in a.get("dilations", [1] * nd))
        out = self.b.pool(self.refs[data[0]], kind, k, strides, pad, dil,
                          ceil, "torch", bool(a.get("count_include_pad", 0)), name=name, type=node.op_type)
        if ceil:
            self._check_ceil(out, k, strides, pad)
        return out

    def global_pool(self, node: Any, a: dict[str, Any], name: str, data: list[str]) -> str | None:
        kind = "max" if "Max" in node.op_type else "avg"
        return self.b.global_pool(self.refs[data[0]], kind, keepdims=True, name=name, type=node.op_type)

    def pad(self, node: Any, a: dict[str, Any], name: str, data: list[str]) -> str | None:
        raw = a.get("pads") if "pads" in a else self.value(node, 1)
        if raw is None or node.input[0] != data[0] or len(data) != 1 or self.value(node, 3) is not None:
            return None  # computed at run time, or only some axes (opset 18 ``axes``): shape inference
        axes = Padding.from_onnx([int(p) for p in np.asarray(raw).reshape(-1)]).axes
        if len(axes) < 3 or axes[0] != (0, 0) or axes[1] != (0, 0):
            return None  # pads the batch or channel axis: not a spatial pad
        return self.b.pad(self.refs[data[0]], list(axes[2:]), _s(a.get("mode", "constant")), name=name,
                          type=node.op_type)

    def resize(self, node: Any, a: dict[str, Any], name: str, data: list[str]) -> str | None:
        if node.input[0] != data[0] or len(data) != 1 or "axes" in a:
            return None
        if _s(a.get("keep_aspect_ratio_policy", "stretch")) != "stretch":
            return None
        full = self.full_shape(data[0], node)
        if node.op_type == "Upsample":
            scales, sizes = (a.get("scales") if "scales" in a else self.value(node, 1)), None
        elif self.opsets.get("", 0) <= 10:
            scales, sizes = self.value(node, 1), None
        else:
            scales, sizes = self.value(node, 2), self.value(node, 3)
        if len(full) < 3:
            return None
        mode = _s(a.get("mode", "nearest"))
        corners = _s(a.get("coordinate_transformation_mode", "half_pixel")) == "align_corners"
        x = self.refs[data[0]]
        if sizes is not None and np.asarray(sizes).size:
            target = [int(s) for s in np.asarray(sizes).reshape(-1)]
            if len(target) != len(full) or tuple(target[:2]) != full[:2]:
                return None
            return self.b.upsample(x, size=target[2:], mode=mode, align_corners=corners, name=name, type=node.op_type)
        if scales is None or not np.asarray(scales).size:
            return None
        factors = [float(s) for s in np.asarray(scales).reshape(-1)]
        if len(factors) != len(full) or factors[:2] != [1.0, 1.0]:
            return None
        if any(not math.isclose(s * n, round(s * n)) for s, n in zip(factors[2:], full[2:], strict=True)):
            self.notes.append(f"{name}: scale {factors[2:]} does not give whole sizes; ONNX rounds down")
        return self.b.upsample(x, factors[2:], mode=mode, align_corners=corners, name=name, type=node.op_type)

    def concat(self, node: Any, a: dict[str, Any], name: str, data: list[str]) -> str | None:
        ins = [i for i in node.input if i]
        if len(ins) == 1:
            return self.b.identity(self.refs[ins[0]], name=name, type=node.op_type)
        rank = len(self.full_shape(data[0], node))
        axis = int(a["axis"]) % max(rank, 1)
        refs = [self._materialize(i) if i not in self.refs else self.refs[i] for i in ins]
        if axis == 0 or any(r is None for r in refs):
            return None
        return self.b.concat([r for r in refs if r is not None], axis=axis, name=name, type=node.op_type)

    def merge(self, node: Any, a: dict[str, Any], name: str, data: list[str]) -> str | None:
        ins = [i for i in node.input if i]
        if len(ins) == 1:
            return self.b.identity(self.refs[ins[0]], name=name, type=node.op_type)
        consts = [self.consts[i] for i in ins if i not in self.refs]
        if len(data) >= 2:
            ranks = {len(self.full_shape(i, node)) for i in data}
            if consts or len(ranks) != 1 or ranks.pop() < 1:
                return None
            return self.b.node(_MERGE[node.op_type], [self.refs[i] for i in data], name, node.op_type)
        x = self.full_shape(data[0], node)
        if any(c.shape is None for c in consts):
            return None
        try:
            out = tuple(np.broadcast_shapes(x, *(c.shape for c in consts if c.shape is not None)))
        except ValueError:
            return None
        if out != x or not x:
            return None
        params = sum(c.params for c in consts)
        if params:
            return self.b.opaque(self.refs[data[0]], x[1:], params, name=name, type=node.op_type)
        return self.b.identity(self.refs[data[0]], name=name, type=node.op_type)

    def flatten(self, node: Any, a: dict[str, Any], name: str, data: list[str]) -> str | None:
        rank = len(self.full_shape(data[0], node))
        if rank < 2 or int(a.get("axis", 1)) % rank != 1:
            return None
        return self.b.flatten(self.refs[data[0]], name=name, type=node.op_type)

    def reshape(self, node: Any, a: dict[str, Any], name: str, data: list[str]) -> str | None:
        target = self.value(node, 1)
        if target is None or node.input[0] != data[0] or len(data) != 1:
            return None
        x = self.full_shape(data[0], node)
        raw = [int(t) for t in np.asarray(target).reshape(-1)]
        if not a.get("allowzero", 0):
            raw = [x[i] if t == 0 and i < len(x) else t for i, t in enumerate(raw)]
        total, known = math.prod(x), math.prod(t for t in raw if t != -1)
        if raw.count(-1) > 1 or (known and -1 in raw and total % known) or (-1 not in raw and known != total) or \
                not known or not raw:
            # impossible at this size: let the IR say why (a PyTorch ``view(-1, F)`` absorbs the batch)
            absorbing = bool(raw) and raw[0] == -1 and -1 not in raw[1:]
            return self.b.reshape(self.refs[data[0]], raw[1:], batch_absorbing=absorbing, name=name,
                                  type=node.op_type)
        out = [total // known if t == -1 else t for t in raw]
        ref = self.refs[data[0]]
        if x and out[0] == x[0]:
            return self.b.reshape(ref, out[1:], name=name, type=node.op_type)
        self.full[node.output[0]] = tuple(out)  # the batch axis changes (windows folded into it)
        return self.b.opaque(ref, out[1:], name=name, type=node.op_type)

    def dense(self, node: Any, a: dict[str, Any], name: str, data: list[str]) -> str | None:
        w = self.const(node, 1)
        if node.input[0] != data[0] or len(data) != 1 or w is None or w.shape is None or len(w.shape) != 2:
            return None
        if node.op_type == "Gemm":
            if a.get("transA", 0):
                return None
            units, fan_in = (w.shape[0], w.shape[1]) if a.get("transB", 0) else (w.shape[1], w.shape[0])
            c = self.const(node, 2)
            bias = c is not None and c.shape is not None and math.prod(c.shape) == units
            if len(node.input) > 2 and node.input[2] and not bias:
                return None
        else:
            if len(self.full_shape(data[0], node)) < 2:
                return None
            units, fan_in, bias = w.shape[1], w.shape[0], False
        return self.b.dense(self.refs[data[0]], int(units), bias, in_features=int(fan_in), name=name,
                            type=node.op_type)

    def batch_norm(self, node: Any, a: dict[str, Any], name: str, data: list[str]) -> str | None:
        if node.input[0] != data[0] or len(data) != 1 or a.get("training_mode", 0):
            return None
        return self.b.norm(self.refs[data[0]], "batch", True, stats=True, stats_are_params=True, name=name,
                           type=node.op_type)

    def elementwise(self, node: Any, a: dict[str, Any], name: str, data: list[str]) -> str | None:
        if node.input[0] != data[0] or len(data) != 1 or any(self.consts[i].params for i in node.input[1:] if i):
            return None
        x = self.refs[data[0]]
        if node.op_type == "Dropout":
            return self.b.dropout(x, name=name, type=node.op_type)
        if node.op_type == "Identity":
            return self.b.identity(x, name=name, type=node.op_type)
        return self.b.activation(x, node.op_type.lower(), name=name, type=node.op_type)

    def _check_ceil(self, ref: str, k: Sequence[int], strides: Sequence[int], pad: object) -> None:
        node = self.b.nodes[-1]
        src = self.info(node.inputs[0])
        if src.shape is None:
            return
        try:
            text_rule = "plain" if "plain" in CEIL_RULES else "onnx"  # the spec's prose: plain ceil
            spec = pool(src.shape[1:], k, strides, pad, ceil_mode=True, rule=text_rule).output
            ours = pool(src.shape[1:], k, strides, pad, ceil_mode=True, rule="torch").output
        except (ValueError, PaddingError):
            return
        if spec != ours:
            self.notes.append(f"{ref}: ceil_mode gives {ours} in onnxruntime (and PyTorch) but {spec} by the ONNX "
                              "spec text; padstride follows onnxruntime")


_HANDLERS = {
    "Conv": _Converter.conv, "ConvTranspose": _Converter.conv, "ConvInteger": _Converter.conv,
    "MaxPool": _Converter.pool, "AveragePool": _Converter.pool, "LpPool": _Converter.pool,
    "GlobalAveragePool": _Converter.global_pool, "GlobalMaxPool": _Converter.global_pool,
    "Pad": _Converter.pad, "Resize": _Converter.resize, "Upsample": _Converter.resize,
    "Concat": _Converter.concat, "Flatten": _Converter.flatten, "Reshape": _Converter.reshape,
    "Gemm": _Converter.dense, "MatMul": _Converter.dense, "BatchNormalization": _Converter.batch_norm,
    "Dropout": _Converter.elementwise, "Identity": _Converter.elementwise,
    **dict.fromkeys(_MERGE, _Converter.merge), **dict.fromkeys(_ACTIVATIONS, _Converter.elementwise),
}


def read_onnx_graph(model: Any, input_shape: InputShapes | None = None
                    ) -> tuple[Graph, dict[str, LayerInfo], dict[str, Const]]:
    """:func:`analyzed_onnx` and the constants the reader knew or folded, by ONNX value name (a porter
    reads a ``Reshape`` target or a class token computed from the shape arithmetic there).

    >>> import numpy as np
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    >>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    >>> nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Reshape", ["x", "s"], ["y"])]
    >>> g, infos, consts = read_onnx_graph(helper.make_model(helper.make_graph(nodes, "g", [x], [y])))
    >>> consts["s"].value.tolist()
    [1, 3, 8, 8]
    """
    import onnx

    skipped: set[str] = set()
    source = "model"
    if isinstance(model, (str, Path)):
        from .onnx_file import read_onnx

        source = _short(Path(model).name, 120)
        model, skipped = read_onnx(model)
    elif not isinstance(model, onnx.ModelProto):
        raise ModelError(f"expected an ONNX ModelProto or a path, got {type(model).__name__}")
    else:
        source = _short(model.graph.name or "model", 120)
    converter = _Converter(model, input_shape, skipped, source)
    graph, infos = converter.run()
    return graph, infos, converter.consts


def analyzed_onnx(model: Any, input_shape: InputShapes | None = None) -> tuple[Graph, dict[str, LayerInfo]]:
    """:func:`graph_from_onnx` and its propagation, which reading the model already ran.

    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    >>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    >>> relu = helper.make_node("Relu", ["x"], ["y"])
    >>> g, infos = analyzed_onnx(helper.make_model(helper.make_graph([relu], "g", [x], [y])))
    >>> infos["y"].shape
    (3, 8, 8)
    """
    graph, infos, _ = read_onnx_graph(model, input_shape)
    return graph, infos


def graph_from_onnx(model: Any, input_shape: InputShapes | None = None) -> Graph:
    """The graph of an ONNX model (a ``ModelProto`` or a path).

    ``input_shape``: per sample, NCHW order (or with the batch axis: the model's rank tells which);
    for several data inputs, a list of shapes or a mapping from input name to shape.

    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])
    >>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    >>> m = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]))
    >>> graph_from_onnx(m).nodes[0].attrs["shape"]
    (1, 28, 28)
    """
    return analyzed_onnx(model, input_shape)[0]
