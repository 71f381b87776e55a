"""Port an ONNX model to PyTorch: the analysis reads it, the IR builder builds it, the initializers attached.

Pads keep ONNX's own conventions through the padstride layers: ``auto_pad=SAME_UPPER`` is
``'same'`` (the odd pixel after, as TF), ``SAME_LOWER`` is ``'same_lower'``, explicit ``pads``
stay per-side pairs; ``ceil_mode``, ``count_include_pad``, dilations (average pooling too),
groups, ``output_padding`` and ``output_shape`` are kept. Element-wise ops run with ONNX's exact
semantics (``Sub``, ``Clip``, ``HardSigmoid``'s ``alpha``/``beta``, a constant operand).

>>> import numpy as np, onnx, torch
>>> from onnx import TensorProto, helper, numpy_helper
>>> w = numpy_helper.from_array(np.random.rand(2, 3, 3, 3).astype("float32"), "w")
>>> conv = helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER")
>>> g = helper.make_graph([conv], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 9, 9])],
...                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
>>> net = from_onnx(helper.make_model(g))
>>> net(torch.zeros(1, 3, 9, 9)).shape
torch.Size([1, 2, 5, 5])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..analysis.ir import Node
from ..errors import Error
from . import modules as M
from .build import BuildError, PortedModel, build
from .ops import NodeContext

__all__ = ["OnnxOp", "OnnxPad", "OnnxPortError", "from_onnx", "onnx_values"]


class OnnxPortError(BuildError):
    """An ONNX model that :func:`from_onnx` cannot port: the message names the first node at fault."""


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


_UNARY: dict[str, Any] = {
    "Relu": torch.relu, "Sigmoid": torch.sigmoid, "Tanh": torch.tanh, "Exp": torch.exp, "Log": torch.log,
    "Abs": torch.abs, "Neg": torch.neg, "Sqrt": torch.sqrt, "Reciprocal": torch.reciprocal, "Erf": torch.erf,
    "Floor": torch.floor, "Ceil": torch.ceil, "Round": torch.round, "Sign": torch.sign, "Sin": torch.sin,
    "Cos": torch.cos, "Softplus": F.softplus, "Softsign": F.softsign, "Mish": F.mish, "HardSwish": F.hardswish,
    "Identity": lambda x: x, "Dropout": lambda x: x,
}
_NARY: dict[str, Any] = {
    "Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div, "Pow": torch.pow,
    "Max": torch.maximum, "Min": torch.minimum, "Sum": torch.add, "Mean": torch.add,
}
_REDUCE: dict[str, Any] = {"ReduceMean": torch.mean, "ReduceSum": torch.sum, "ReduceMax": torch.amax,
                           "ReduceMin": torch.amin}
_WITH_ATTRS = {*_REDUCE, "LeakyRelu", "Elu", "Selu", "Celu", "HardSigmoid", "ThresholdedRelu", "Gelu", "Clip",
               "Softmax", "LogSoftmax", "Cast"}
_SELU = (1.67326319217681884765625, 1.05070102214813232421875)  # ONNX's default alpha, gamma
#: ONNX ops :class:`OnnxOp` computes exactly
EXACT_OPS = frozenset(_UNARY) | frozenset(_NARY) | _WITH_ATTRS
_FLOAT_TYPES = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16: a Cast between them keeps float32 values


class OnnxOp(nn.Module):
    """One ONNX element-wise op with its exact semantics; constant operands are buffers.

    ``slots``: per ONNX input, its position among the module's arguments, or -1 for a constant
    (``None`` in ``consts`` where the optional input is absent).

    >>> import torch
    >>> OnnxOp("Sub", [-1, 0], [torch.tensor(1.0), None])(torch.tensor([3.0]))
    tensor([-2.])
    """

    def __init__(self, op: str, slots: Sequence[int], consts: Sequence[torch.Tensor | None],
                 attrs: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.op, self.slots, self.attrs = op, list(slots), dict(attrs or {})
        self.present = [c is not None for c in consts]
        for j, c in enumerate(consts):
            if c is not None:
                self.register_buffer(f"c{j}", c)

    def _inputs(self, args: tuple[torch.Tensor, ...]) -> list[torch.Tensor | None]:
        out: list[torch.Tensor | None] = []
        for j, slot in enumerate(self.slots):
            if slot >= 0:
                out.append(args[slot])
            elif self.present[j]:
                out.append(getattr(self, f"c{j}"))
            else:
                out.append(None)
        return out

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        xs = self._inputs(args)
        op, a = self.op, self.attrs
        x = xs[0]
        assert x is not None
        if op in _NARY:
            fn, acc = _NARY[op], x
            for y in xs[1:]:
                if y is not None:
                    acc = fn(acc, y)
            return acc / len(xs) if op == "Mean" else acc
        if op in _UNARY:
            return _UNARY[op](x)  # type: ignore[no-any-return]
        if op == "LeakyRelu":
            return F.leaky_relu(x, float(a.get("alpha", 0.01)))
        if op == "Elu":
            return F.elu(x, float(a.get("alpha", 1.0)))
        if op == "Celu":
            return F.celu(x, float(a.get("alpha", 1.0)))
        if op == "Selu":
            alpha, gamma = float(a.get("alpha", _SELU[0])), float(a.get("gamma", _SELU[1]))
            return gamma * torch.where(x > 0, x, alpha * torch.expm1(x))
        if op == "HardSigmoid":
            return torch.clamp(float(a.get("alpha", 0.2)) * x + float(a.get("beta", 0.5)), 0.0, 1.0)
        if op == "ThresholdedRelu":
            return torch.where(x > float(a.get("alpha", 1.0)), x, torch.zeros_like(x))
        if op == "Gelu":
            return F.gelu(x, approximate=_s(a.get("approximate", "none")))
        if op == "Clip":
            lo = xs[1] if len(xs) > 1 and xs[1] is not None else a.get("min")
            hi = xs[2] if len(xs) > 2 and xs[2] is not None else a.get("max")
            if lo is not None:
                x = torch.maximum(x, torch.as_tensor(lo, dtype=x.dtype))
            if hi is not None:
                x = torch.minimum(x, torch.as_tensor(hi, dtype=x.dtype))
            return x
        if op in ("Softmax", "LogSoftmax"):
            axis = int(a.get("axis", -1))
            return torch.log_softmax(x, axis) if op == "LogSoftmax" else torch.softmax(x, axis)
        if op == "Cast":
            return x
        if op in _REDUCE:
            raw = xs[1] if len(xs) > 1 and xs[1] is not None else a.get("axes")
            axes = [int(v) for v in torch.as_tensor(raw).reshape(-1).tolist()] if raw is not None else []
            if not axes:
                if a.get("noop_with_empty_axes", 0):
                    return x
                axes = list(range(x.dim()))
            return _REDUCE[op](x, dim=axes, keepdim=bool(a.get("keepdims", 1)))  # type: ignore[no-any-return]
        raise NotImplementedError(op)

    def extra_repr(self) -> str:
        return f"{self.op!r}" + (f", {self.attrs}" if self.attrs else "")


class OnnxPad(nn.Module):
    """ONNX ``Pad``: per-axis ``(before, after)`` pairs over every axis (batch included), any mode.

    >>> import torch
    >>> OnnxPad([(0, 0), (0, 0), (1, 0)], "constant", 2.0)(torch.zeros(1, 1, 2))
    tensor([[[2., 0., 0.]]])
    """

    def __init__(self, pairs: Sequence[tuple[int, int]], mode: str = "constant", value: float = 0.0) -> None:
        super().__init__()
        pairs = [(int(b), int(e)) for b, e in pairs]
        spatial = max(1, len(pairs) - 2)
        while mode != "constant" and len(pairs) > spatial and pairs[0] == (0, 0):
            pairs = pairs[1:]  # torch pads the spatial axes only in these modes
        self.pairs, self.mode, self.value = tuple(pairs), mode, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = [p for pair in reversed(self.pairs) for p in pair]
        if self.mode == "constant":
            return F.pad(x, flat, value=self.value)
        return F.pad(x, flat, mode=self.mode)

    def extra_repr(self) -> str:
        return f"pairs={self.pairs}, mode={self.mode!r}" + (f", value={self.value}" if self.value else "")


def onnx_values(model: Any) -> dict[str, np.ndarray]:
    """The constant tensors of a loaded ``onnx.ModelProto``: initializers, ``Constant`` nodes' values and
    ``Identity`` copies of either."""
    from onnx import helper, numpy_helper

    values = {t.name: np.array(numpy_helper.to_array(t)) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Identity" and node.domain in ("", "ai.onnx") and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]]  # the TorchScript exporter aliases shared weights
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            attrs = {x.name: helper.get_attribute_value(x) for x in node.attribute}
            if "value" in attrs:
                values[node.output[0]] = numpy_helper.to_array(attrs["value"])
            for key in ("value_float", "value_int", "value_floats", "value_ints"):
                if key in attrs:
                    values[node.output[0]] = np.array(attrs[key], np.float32 if "float" in key else np.int64)
    return values


class _Porter:
    def __init__(self, model: Any) -> None:
        from onnx import helper

        self.values = onnx_values(model)
        self.nodes = {n.output[0]: n for n in model.graph.node if n.output}
        self.attrs = {k: {x.name: helper.get_attribute_value(x) for x in n.attribute} for k, n in self.nodes.items()}
        self.opset = next((int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)

    def _onnx(self, node: Node) -> tuple[Any, dict[str, Any]] | None:
        source = node.attrs.get("source")
        if not isinstance(source, str) or source not in self.nodes:
            return None
        return self.nodes[source], self.attrs[source]

    def const(self, onnx_node: Any, index: int, where: str, what: str) -> np.ndarray | None:
        name = onnx_node.input[index] if index < len(onnx_node.input) else ""
        if not name:
            return None
        if name not in self.values:
            raise OnnxPortError(f"{where}: its {what} ({name!r}) is not a constant of the model (an initializer "
                                "or a Constant node); from_onnx needs the weights in the model")
        return self.values[name]

    def weights(self, node: Node) -> Mapping[str, Any] | None:
        found = self._onnx(node)
        if found is None:
            return None
        onnx_node, a = found
        op, where = onnx_node.op_type, f"layer {node.name!r} ({onnx_node.op_type})"
        out: dict[str, Any] = {}
        if op in ("Conv", "ConvTranspose") and node.op in ("conv", "conv_transpose"):
            out["weight"] = self.const(onnx_node, 1, where, "weight")
            if (b := self.const(onnx_node, 2, where, "bias")) is not None:
                out["bias"] = b
        elif op == "Gemm" and node.op == "dense":
            w = self.const(onnx_node, 1, where, "weight")
            assert w is not None
            w = (w if a.get("transB", 0) else w.T) * np.float32(a.get("alpha", 1.0))
            out["weight"] = np.ascontiguousarray(w, dtype=np.float32)
            if (c := self.const(onnx_node, 2, where, "bias")) is not None:
                out["bias"] = (c * np.float32(a.get("beta", 1.0))).reshape(-1).astype(np.float32)
        elif op == "MatMul" and node.op == "dense":
            w = self.const(onnx_node, 1, where, "weight")
            assert w is not None
            out["weight"] = np.ascontiguousarray(w.T)
        elif op == "BatchNormalization" and node.op == "norm":
            for k, key in enumerate(("weight", "bias", "running_mean", "running_var"), start=1):
                out[key] = self.const(onnx_node, k, where, key)
        return out or None

    def factory(self, ctx: NodeContext) -> nn.Module | None:
        found = self._onnx(ctx.node)
        if found is None:
            return None
        onnx_node, a = found
        op = onnx_node.op_type
        if op in EXACT_OPS:
            return self._exact(ctx, onnx_node, a)
        if op == "BatchNormalization" and ctx.node.op == "norm":
            module = M.BatchNormAnyRank(int(ctx.in_shapes[0][0]), float(a.get("epsilon", 1e-5)), 0.1, True, True)
            ctx.load(module)
            return module
        if op == "Pad":
            return self._pad(ctx, onnx_node, a)
        if op in ("Resize", "Upsample") and ctx.node.op == "upsample":
            return self._resize(ctx, op, a)
        if op == "LpPool":
            raise ctx.fail("LpPool is not supported")
        return None

    def _pad(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        rank = len(ctx.in_shapes[0]) + 1
        raw = a.get("pads") if "pads" in a else self.const(onnx_node, 1, ctx.where, "pads")
        if raw is None:
            raise ctx.fail("a Pad without pads is not supported")
        flat = [int(v) for v in np.asarray(raw).reshape(-1)]
        value = a.get("value", 0.0) if len(onnx_node.input) < 3 else self.const(onnx_node, 2, ctx.where, "value")
        given = self.const(onnx_node, 3, ctx.where, "axes") if len(onnx_node.input) > 3 else None
        axes = list(range(rank)) if given is None else [int(v) % rank for v in np.asarray(given).reshape(-1)]
        pairs = [(0, 0)] * rank
        for i, ax in enumerate(axes):
            pairs[ax] = (flat[i], flat[i + len(axes)])
        mode = _s(a.get("mode", "constant"))
        return OnnxPad(pairs, {"edge": "replicate", "wrap": "circular"}.get(mode, mode),
                       float(np.asarray(0.0 if value is None else value).reshape(-1)[0]))

    def _resize(self, ctx: NodeContext, op: str, a: dict[str, Any]) -> nn.Module:
        """Resize as ``nn.Upsample`` where they agree; anything else refused, naming the node."""
        mode = _s(a.get("mode", "nearest"))
        ctm = _s(a.get("coordinate_transformation_mode", "asymmetric" if op == "Upsample" else "half_pixel"))
        near = _s(a.get("nearest_mode", "floor" if op == "Upsample" else "round_prefer_floor"))
        ins, outs = ctx.in_shapes[0][1:], ctx.out_shape[1:]
        size = tuple(int(o) for o in outs)
        if mode == "nearest":
            whole = all(o % i == 0 for o, i in zip(outs, ins, strict=True))
            if whole and ((ctm == "asymmetric" and near == "floor") or
                          (ctm in ("half_pixel", "pytorch_half_pixel") and near == "round_prefer_floor")):
                return nn.Upsample(size=size, mode="nearest")
        elif mode == "linear" and ctm in ("half_pixel", "pytorch_half_pixel", "align_corners") and \
                not a.get("antialias", 0) and 1 <= ctx.nd <= 3:
            torch_mode = ("linear", "bilinear", "trilinear")[ctx.nd - 1]
            return nn.Upsample(size=size, mode=torch_mode, align_corners=ctm == "align_corners")
        raise ctx.fail(f"{op} mode={mode!r} coordinate_transformation_mode={ctm!r} nearest_mode={near!r} "
                       f"from {tuple(ins)} to {size} is not supported")

    def _exact(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        op = onnx_node.op_type
        slots = [int(s) for s in ctx.node.attrs.get("onnx_inputs", [])]
        consts: list[torch.Tensor | None] = []
        for j, slot in enumerate(slots):
            value = self.const(onnx_node, j, ctx.where, f"input {j}") if slot < 0 else None
            consts.append(None if value is None else torch.as_tensor(np.array(value)))
        if op == "Cast" and int(a.get("to", 1)) not in _FLOAT_TYPES:
            raise ctx.fail("a Cast to a non-float type is not supported")
        if op in ("Softmax", "LogSoftmax") and self.opset < 13:
            axis, rank = int(a.get("axis", 1)), len(ctx.in_shapes[0]) + 1
            if axis % rank != rank - 1:
                raise ctx.fail(f"{op} (opset {self.opset}) over axes {axis}.. flattened is not supported")
            a = {**a, "axis": -1}
        keep = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in a.items()
                if isinstance(v, (int, float, str, bytes, list, tuple))}
        return OnnxOp(op, slots, consts, keep)


def from_onnx(model: Any, input_shape: Sequence[int] | None = None) -> PortedModel:
    """A PyTorch module equal to an ONNX model, its initializers as weights.

    ``model`` is an ``onnx.ModelProto`` or the path of a ``.onnx`` file; ``input_shape`` (per
    sample, NCHW) is only needed when the file leaves sizes open and a layer depends on them.
    The module is in eval mode and takes the model's data inputs in order. Raises
    :class:`OnnxPortError` naming the first node it cannot port (an op padstride has no module
    for, e.g. ``Transpose``, ``Slice``).

    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 7, 7])
    >>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    >>> pool = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
    ...                         auto_pad="SAME_LOWER")
    >>> from_onnx(helper.make_model(helper.make_graph([pool], "g", [x], [y]))).plan
    [('y', [0], 1)]
    """
    import onnx

    from ..analysis.adapters.onnx import analyzed_onnx

    if isinstance(model, (str, os.PathLike, Path)):
        path = os.fspath(model)
        try:
            graph = analyzed_onnx(path, input_shape)[0]
        except Error as exc:
            raise OnnxPortError(str(exc)) from None
        model = onnx.load(path)
    else:
        if not isinstance(model, onnx.ModelProto):
            raise OnnxPortError(f"expected an onnx.ModelProto or a path, got {type(model).__name__}")
        try:
            graph = analyzed_onnx(model, input_shape)[0]
        except Error as exc:
            raise OnnxPortError(str(exc)) from None
    porter = _Porter(model)
    try:
        return build(graph, porter.weights, porter.factory)
    except OnnxPortError:
        raise
    except BuildError as exc:
        raise OnnxPortError(str(exc)) from None
