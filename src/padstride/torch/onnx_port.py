"""Port an ONNX model to PyTorch: the analysis reads it, the IR builder builds it, the initializers attached.

Pads keep ONNX's own conventions through the padstride layers: ``auto_pad=SAME_UPPER`` is
``'same'`` (the odd pixel after, as TF), ``SAME_LOWER`` is ``'same_lower'``, explicit ``pads``
stay per-side pairs; ``ceil_mode``, ``count_include_pad``, dilations (average pooling too),
groups, ``output_padding`` and ``output_shape`` are kept. Element-wise ops run with ONNX's exact
semantics (``Sub``, ``Clip``, ``HardSigmoid``'s ``alpha``/``beta``, a constant operand).

Ops the analysis keeps opaque (a transformer's ``Transpose``, ``Slice``, ``Split``, ``Gather``,
``MatMul`` of two activations, ``LayerNormalization``, ``Reshape`` across the batch axis, ``Expand``,
``Tile``, ``Where``, ``Einsum`` …) become the whole-tensor modules of :mod:`padstride.torch.modules`
(batch axis included, ONNX's semantics: negative and out-of-range slice bounds, negative steps,
``0``/``-1`` in reshape targets, negative gather indices). Their settings must be constants: an
initializer, a ``Constant`` node, shape arithmetic the reader folded, or a constant subgraph
:meth:`_Porter.evaluate` computes once with ONNX's reference evaluator. Learned constants (float
initializers of more than one value, and what is folded from them) are parameters; the rest buffers.
A graph input with an initializer (ONNX IR < 4 lists every weight so) is a parameter. A weight input
with no initializer (ONNX's conformance models) is an extra input of the module, in the graph's input
order, so the module equals the file for any value (:class:`RuntimeWeights`; ``Conv``, ``ConvTranspose``,
``Gemm``, ``MatMul``, ``BatchNormalization`` and the element-wise ops); elsewhere (a
``LayerNormalization``'s scale) it is refused, naming the node and the input.

The reader records on each IR node where it comes from (attributes this porter reads):

- ``source``: the ONNX node's first output (the key of the node), or the value a constant node holds;
- ``onnx_op``: the ONNX op type (``"Constant"`` for a constant used as data);
- ``onnx_inputs``: per ONNX input, its position among the IR node's inputs, or -1 for a constant;
- ``onnx_output``: which output of the ONNX node the IR node is, recorded where it is not the first
  [0] (a ``Split``'s pieces, ``MaxPool``'s indices);
- ``onnx_value``: on a constant used as data (a class token concatenated to the patches), the name of
  the ONNX value it holds.

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

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..analysis.ir import Node
from ..errors import Error
from ..geometry import effective_kernel
from . import modules as M
from .build import BuildError, PortedModel, build
from .ops import NodeContext

__all__ = ["OnnxConv", "OnnxMaxPoolIndices", "OnnxOp", "OnnxPad", "OnnxPortError", "RuntimeWeights", "from_onnx",
           "onnx_values"]


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
def _prod(x: torch.Tensor, dim: list[int], keepdim: bool) -> torch.Tensor:
    for d in sorted((d % x.dim() for d in dim), reverse=True):
        x = x.prod(d, keepdim=keepdim)
    return x


_REDUCE: dict[str, Any] = {"ReduceMean": torch.mean, "ReduceSum": torch.sum, "ReduceMax": torch.amax,
                           "ReduceL2": lambda x, dim, keepdim: torch.sqrt(torch.sum(x * x, dim=dim, keepdim=keepdim)),
                           "ReduceL1": lambda x, dim, keepdim: torch.sum(x.abs(), dim=dim, keepdim=keepdim),
                           "ReduceSumSquare": lambda x, dim, keepdim: torch.sum(x * x, dim=dim, keepdim=keepdim),
                           "ReduceLogSum": lambda x, dim, keepdim: torch.log(torch.sum(x, dim=dim, keepdim=keepdim)),
                           "ReduceLogSumExp": torch.logsumexp, "ReduceProd": _prod,
                           "ReduceMin": torch.amin}
_WITH_ATTRS = {*_REDUCE, "PRelu", "LeakyRelu", "Elu", "Selu", "Celu", "HardSigmoid", "ThresholdedRelu", "Gelu", "Clip",
               "Softmax", "LogSoftmax", "Cast"}
_SELU = (1.67326319217681884765625, 1.05070102214813232421875)  # ONNX's default alpha, gamma
#: The most nodes :meth:`_Porter.evaluate` runs to compute one constant.
MAX_CONST_NODES = 10_000
#: ONNX ops :class:`OnnxOp` computes exactly
EXACT_OPS = frozenset(_UNARY) | frozenset(_NARY) | _WITH_ATTRS
_FLOAT_TYPES = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16: a Cast between them keeps float32 values


class OnnxOp(nn.Module):
    """One ONNX element-wise op with its exact semantics; constant operands are buffers, or parameters
    where ``trainable`` says so (a bias, a position embedding).

    ``slots``: per ONNX input, its position among the module's arguments, or -1 for a constant
    (``None`` in ``consts`` where the optional input is absent).

    >>> import torch
    >>> OnnxOp("Sub", [-1, 0], [torch.tensor(1.0), None])(torch.tensor([3.0]))
    tensor([-2.])
    """

    def __init__(self, op: str, slots: Sequence[int], consts: Sequence[torch.Tensor | None],
                 attrs: Mapping[str, Any] | None = None, trainable: Sequence[bool] | None = None) -> None:
        super().__init__()
        self.op, self.slots, self.attrs = op, list(slots), dict(attrs or {})
        self.present = [c is not None for c in consts]
        learn = list(trainable) if trainable is not None else [False] * len(consts)
        for j, c in enumerate(consts):
            if c is not None and learn[j] and c.is_floating_point():  # a bias, a position embedding
                self.register_parameter(f"c{j}", nn.Parameter(c))
            elif c is not None:
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
        if op == "PRelu":
            slope = xs[1]
            assert slope is not None
            return torch.where(x >= 0, x, slope * x)
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


class OnnxMaxPoolIndices(nn.Module):
    """ONNX ``MaxPool``'s second output: where each maximum is, as an index into the whole input
    flattened (batch and channel included; ``storage_order=1``: the spatial axes column-major), pads
    not counted. Windows are resolved once (``pads``: per-side pairs; ``outputs``: the lengths the
    geometry gives, ``ceil_mode`` included).

    >>> import torch
    >>> OnnxMaxPoolIndices([2], [2], [1], [(0, 0)], [2])(torch.tensor([[[1.0, 3.0, 2.0, 0.0]], [[0, 0, 5, 0]]]))
    tensor([[[1, 2]],
    <BLANKLINE>
            [[4, 6]]])
    """

    def __init__(self, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
                 pads: Sequence[tuple[int, int]], outputs: Sequence[int], storage_order: int = 0) -> None:
        super().__init__()
        if not 1 <= len(kernel) <= 3:
            raise ValueError(f"1 to 3 spatial axes, got {len(kernel)}")
        self.kernel, self.stride, self.dilation = tuple(kernel), tuple(stride), tuple(dilation)
        self.pads, self.outputs, self.storage_order = tuple(pads), tuple(outputs), int(storage_order)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = [int(n) for n in x.shape[2:]]
        # pad with -inf so that exactly ``outputs`` windows fit without ceil_mode
        pairs = [(b, (o - 1) * s + effective_kernel(k, d) - n - b) for (b, _), o, s, d, k, n in
                 zip(self.pads, self.outputs, self.stride, self.dilation, self.kernel, sizes, strict=True)]
        xp = F.pad(x, [p for pair in reversed(pairs) for p in pair], value=float("-inf"))
        fn = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[len(sizes) - 1]
        _, idx = fn(xp, self.kernel, self.stride, 0, self.dilation, False, True)
        padded = [n + b + a for n, (b, a) in zip(sizes, pairs, strict=True)]
        coords = []
        for p in reversed(padded):  # the padded plane's flat index → per-axis coordinates
            coords.append(idx % p)
            idx = idx // p
        coords = [c - b for c, (b, _) in zip(reversed(coords), pairs, strict=True)]
        flat = torch.zeros_like(coords[0])
        order = range(len(sizes)) if self.storage_order == 0 else reversed(range(len(sizes)))
        for axis in order:
            flat = flat * sizes[axis] + coords[axis]
        plane = math.prod(sizes)
        base = torch.arange(x.shape[0] * x.shape[1], device=x.device).view(x.shape[0], x.shape[1],
                                                                           *[1] * len(sizes))
        return flat + base * plane

    def extra_repr(self) -> str:
        return (f"kernel={self.kernel}, stride={self.stride}, dilation={self.dilation}, pads={self.pads}, "
                f"storage_order={self.storage_order}")


class OnnxConv(nn.Module):
    """ONNX ``Conv`` with its weights (and bias) as inputs: per-side ``pads`` resolved once, then
    ``F.conv*d``.

    >>> import torch
    >>> OnnxConv([1], [1], [(1, 0)])(torch.ones(1, 1, 3), torch.ones(1, 1, 2)).tolist()
    [[[1.0, 2.0, 2.0]]]
    """

    def __init__(self, stride: Sequence[int], dilation: Sequence[int], pads: Sequence[tuple[int, int]],
                 groups: int = 1) -> None:
        super().__init__()
        self.stride, self.dilation, self.groups = tuple(stride), tuple(dilation), int(groups)
        self.pads = tuple((int(b), int(e)) for b, e in pads)

    def forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        fn = (F.conv1d, F.conv2d, F.conv3d)[x.dim() - 3]
        flat = [p for pair in reversed(self.pads) for p in pair]
        out: torch.Tensor = fn(F.pad(x, flat) if any(flat) else x, weight, bias, self.stride, 0, self.dilation,
                               self.groups)
        return out

    def extra_repr(self) -> str:
        return f"stride={self.stride}, dilation={self.dilation}, pads={self.pads}, groups={self.groups}"


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
    def __init__(self, model: Any, folded: Mapping[str, Any] | None = None) -> None:
        from onnx import helper

        self.values = onnx_values(model)
        self.folded = dict(folded or {})  # the reader's constants (``Const``): folded shape arithmetic
        self.nodes = {n.output[0]: n for n in model.graph.node if n.output}
        self.attrs = {k: {x.name: helper.get_attribute_value(x) for x in n.attribute} for k, n in self.nodes.items()}
        self.opset = next((int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
        self.inputs = {i.name for i in model.graph.input} - set(self.values)
        self.producers = {o: n for n in model.graph.node for o in n.output if o}
        self.opsets = list(model.opset_import)
        self.evaluated: dict[str, np.ndarray | None] = {}
        #: IR node → its weights given at run time: (graph input, parameter, transpose, scale, flatten)
        self.runtime: dict[str, list[tuple[str, str, bool, float, bool]]] = {}
        #: IR node → graph inputs passed to its module after its data inputs (an ``OnnxOp``'s operands)
        self.extra: dict[str, list[str]] = {}
        self.used = {i for n in model.graph.node for i in n.input} | {o.name for o in model.graph.output}

    def _onnx(self, node: Node) -> tuple[Any, dict[str, Any]] | None:
        source = node.attrs.get("source")
        if not isinstance(source, str) or source not in self.nodes:
            return None
        return self.nodes[source], self.attrs[source]

    def known(self, name: str) -> np.ndarray | None:
        """The value of ``name`` where it is a constant: an initializer, a ``Constant`` node, folded by the
        reader, or computed once from constants only (:meth:`evaluate`)."""
        if name in self.values:
            return self.values[name]
        c = self.folded.get(name)
        value = None if c is None else c.value
        if value is None and name in self.producers and name not in self.inputs:
            value = self.evaluate(name)
        return None if value is None else np.asarray(value)

    def evaluate(self, name: str) -> np.ndarray | None:
        """``name`` computed with ONNX's reference evaluator when every value it depends on is a constant
        (Swin v2's position-bias MLP on its fixed coordinate table): ``None`` where it depends on data or
        needs more than :data:`MAX_CONST_NODES` nodes. The result is a constant of the port (a buffer)."""
        if name in self.evaluated:
            return self.evaluated[name]
        nodes: list[Any] = []
        leaves: dict[str, np.ndarray] = {}
        seen: set[str] = set()

        def visit(value: str) -> bool:
            if not value or value in seen or value in leaves:
                return True
            seen.add(value)
            c = self.folded.get(value)
            have = self.values.get(value, None if c is None else c.value)
            if have is not None:
                leaves[value] = np.asarray(have)
                return True
            node = self.producers.get(value)
            if node is None or len(nodes) >= MAX_CONST_NODES or not all(visit(i) for i in node.input):
                return False
            if all(n is not node for n in nodes):
                nodes.append(node)
            return True

        result = None
        if visit(name):
            from onnx import helper, numpy_helper
            from onnx.reference import ReferenceEvaluator

            graph = helper.make_graph(nodes, "constants", [], [helper.make_empty_tensor_value_info(name)],
                                      [numpy_helper.from_array(v, k) for k, v in leaves.items()])
            model = helper.make_model(graph, opset_imports=self.opsets)
            try:
                outputs: list[Any] = list(ReferenceEvaluator(model).run(None, {}))
                result = np.asarray(outputs[0])
            except Exception:  # an op the reference evaluator lacks: the node stays unported, named
                result = None
        self.evaluated[name] = result
        return result

    def learned(self, name: str) -> bool:
        """Whether constant ``name`` holds learned weights (a float initializer of more than one value, or
        folded from one): a parameter of the ported module rather than a buffer."""
        c = self.folded.get(name)
        return c is not None and int(c.params) > 0

    def const(self, onnx_node: Any, index: int, where: str, what: str) -> np.ndarray | None:
        name = onnx_node.input[index] if index < len(onnx_node.input) else ""
        if not name:
            return None
        value = self.known(name)
        if value is None and name in self.inputs:
            raise OnnxPortError(f"{where}: its {what} ({name!r}) is a graph input with no initializer; from_onnx "
                                "reads weights from the model (exact for the values it holds): store them as "
                                "initializers, e.g. with onnx.numpy_helper.from_array")
        if value is None:
            raise OnnxPortError(f"{where}: its {what} ({name!r}) is not a constant of the model (an initializer, "
                                "a Constant node or shape arithmetic on them); from_onnx needs the weights in the "
                                "model and settings it can compute before running it")
        return value

    def weights(self, node: Node) -> Mapping[str, Any] | None:
        found = self._onnx(node)
        if found is None:
            return None
        onnx_node, a = found
        op, where = onnx_node.op_type, f"layer {node.name!r} ({onnx_node.op_type})"
        out: dict[str, Any] = {}

        def take(index: int, key: str, transpose: bool = False, scale: float = 1.0, flat: bool = False) -> None:
            name = onnx_node.input[index] if index < len(onnx_node.input) else ""
            if name in self.inputs:  # a weight given at run time: an extra input of the module
                self.runtime.setdefault(node.name, []).append((name, key, transpose, scale, flat))
                return
            value = self.const(onnx_node, index, where, key)
            if value is None:
                return
            value = value.T if transpose else value
            value = value * np.float32(scale) if scale != 1.0 else value
            out[key] = np.ascontiguousarray(value.reshape(-1) if flat else value, dtype=np.float32)

        if op in ("Conv", "ConvTranspose") and node.op in ("conv", "conv_transpose"):
            take(1, "weight")
            take(2, "bias")
        elif op == "Gemm" and node.op == "dense":
            take(1, "weight", not a.get("transB", 0), float(a.get("alpha", 1.0)))
            take(2, "bias", False, float(a.get("beta", 1.0)), True)
        elif op == "MatMul" and node.op == "dense":
            take(1, "weight", True)
        elif op == "BatchNormalization" and node.op == "norm":
            for k, key in enumerate(("weight", "bias", "running_mean", "running_var"), start=1):
                take(k, key)
        return out or None

    def factory(self, ctx: NodeContext) -> nn.Module | None:
        value = ctx.node.attrs.get("onnx_value")
        if isinstance(value, str):  # a constant used as data (a class token)
            known = self.known(value)
            if known is None:
                raise ctx.fail(f"constant {value!r} has no value the porter can read")
            return M.Constant(torch.as_tensor(np.array(known)), self.learned(value))
        found = self._onnx(ctx.node)
        if found is None:
            return None
        onnx_node, a = found
        op = onnx_node.op_type
        if op == "MaxPool" and int(ctx.attr("onnx_output", 0)) == 1:
            return self._maxpool_indices(ctx, onnx_node, a)
        if op in EXACT_OPS:
            return self._exact(ctx, onnx_node, a)
        if ctx.node.op == "opaque" and op in _TENSOR_OPS:
            return _TENSOR_OPS[op](self, ctx, onnx_node, a)
        if op == "BatchNormalization" and ctx.node.op == "norm":
            module = M.BatchNormAnyRank(int(ctx.in_shapes[0][0]), float(a.get("epsilon", 1e-5)), 0.1, True, True)
            ctx.load(module)
            return module
        if op == "Pad":
            return self._pad(ctx, onnx_node, a)
        if op in ("Resize", "Upsample") and ctx.node.op == "upsample":
            return self._resize(ctx, op, a, onnx_node)
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

    def _resize(self, ctx: NodeContext, op: str, a: dict[str, Any], onnx_node: Any = None) -> nn.Module:
        """Resize as ``nn.Upsample`` where they agree; anything else refused, naming the node."""
        mode = _s(a.get("mode", "nearest"))
        ctm = _s(a.get("coordinate_transformation_mode", "asymmetric" if op == "Upsample" else "half_pixel"))
        near = _s(a.get("nearest_mode", "floor" if op == "Upsample" else "round_prefer_floor"))
        ins, outs = ctx.in_shapes[0][1:], ctx.out_shape[1:]
        size = tuple(int(o) for o in outs)
        # PyTorch maps output to input by in/out; ONNX by the scale it is given (out/in where sizes are)
        scales = None if onnx_node is None else (
            self.known(onnx_node.input[2]) if op == "Resize" and len(onnx_node.input) > 2 and onnx_node.input[2]
            and self.opset >= 11 else self.known(onnx_node.input[1]) if len(onnx_node.input) > 1 and
            onnx_node.input[1] else None)
        given = [] if scales is None else [float(v) for v in np.asarray(scales).reshape(-1)][-len(ins):]
        ratio = not given or all(np.float32(g) == np.float32(o) / np.float32(i)
                                 for g, o, i in zip(given, outs, ins, strict=True))
        if mode == "nearest":
            whole = all(o % i == 0 for o, i in zip(outs, ins, strict=True))
            if (ratio and ctm == "asymmetric" and near == "floor") or (whole and ctm in (
                    "half_pixel", "pytorch_half_pixel") and near == "round_prefer_floor"):
                return nn.Upsample(size=size, mode="nearest")
        elif mode == "linear" and ctm in ("half_pixel", "pytorch_half_pixel", "align_corners") and ratio and \
                not a.get("antialias", 0) and 1 <= ctx.nd <= 3:
            torch_mode = ("linear", "bilinear", "trilinear")[ctx.nd - 1]
            return nn.Upsample(size=size, mode=torch_mode, align_corners=ctm == "align_corners")
        raise ctx.fail(f"{op} mode={mode!r} coordinate_transformation_mode={ctm!r} nearest_mode={near!r} "
                       f"from {tuple(ins)} to {size} is not supported")

    def _exact(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        op = onnx_node.op_type
        slots = [int(s) for s in ctx.node.attrs.get("onnx_inputs", [])]
        consts: list[torch.Tensor | None] = []
        learn: list[bool] = []
        for j, slot in enumerate(slots):
            if slot < 0 and onnx_node.input[j] in self.inputs:  # given at run time: an extra argument
                extra = self.extra.setdefault(ctx.node.name, [])
                slots[j] = len(ctx.node.inputs) + len(extra)
                extra.append(onnx_node.input[j])
                slot = slots[j]
            value = self.const(onnx_node, j, ctx.where, f"input {j}") if slot < 0 else None
            consts.append(None if value is None else torch.as_tensor(np.array(value)))
            learn.append(value is not None and self.learned(onnx_node.input[j]))
        if op == "PRelu" and self.opset < 7 and len(consts) > 1 and consts[1] is not None and consts[1].numel() > 1:
            rank = len(ctx.in_shapes[0]) + 1  # before opset 7 a slope vector is per channel (axis 1)
            consts[1] = consts[1].reshape(-1, *[1] * max(rank - 2, 0))
        if op in _REDUCE and len(consts) > 1 and consts[1] is not None:  # constant axes: an attribute
            a = {**a, "axes": [int(v) for v in consts[1].reshape(-1).tolist()]}
            consts[1], learn[1] = None, False
        if op == "Cast" and int(a.get("to", 1)) not in _FLOAT_TYPES:
            raise ctx.fail("a Cast to a non-float type is not supported")
        if op in ("Softmax", "LogSoftmax") and self.opset < 13:
            axis, rank = int(a.get("axis", 1)), len(ctx.in_shapes[0]) + 1
            if axis % rank != rank - 1:
                raise ctx.fail(f"{op} (opset {self.opset}) over axes {axis}.. flattened is not supported")
            a = {**a, "axis": -1}
        keep = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in a.items()
                if isinstance(v, (int, float, str, bytes, list, tuple))}
        return OnnxOp(op, slots, consts, keep, learn)


    # -- tensor ops (opaque to the analysis): exact modules on whole tensors, batch axis included -----------

    def operands(self, ctx: NodeContext, onnx_node: Any, inner: nn.Module, count: int | None = None) -> nn.Module:
        """``inner`` fed the node's first ``count`` inputs: data where the graph computes them, the
        constants (parameters where learned) otherwise."""
        slots = [int(s) for s in ctx.node.attrs.get("onnx_inputs", [])][:count]
        fixed: list[torch.Tensor] = []
        learn: list[bool] = []
        for j, slot in enumerate(slots):
            if slot < 0:
                value = self.const(onnx_node, j, ctx.where, f"input {j}")
                if value is None:
                    raise ctx.fail(f"input {j} is omitted; this op needs it")
                fixed.append(torch.as_tensor(np.array(value)))
                learn.append(self.learned(onnx_node.input[j]))
        if not fixed:
            return inner
        return M.Operands(inner, slots, fixed, learn)

    def setting(self, ctx: NodeContext, onnx_node: Any, index: int, what: str, attrs: Mapping[str, Any],
                key: str | None = None) -> list[int] | None:
        """Integers an op takes as an input since some opset (a ``Slice``'s starts, a ``Reshape`` target)
        or as the attribute ``key`` before: from the attribute, or the constant input, or ``None``."""
        if key is not None and key in attrs:
            return [int(v) for v in attrs[key]]
        slots = [int(s) for s in ctx.node.attrs.get("onnx_inputs", [])]
        if index < len(slots) and slots[index] >= 0:
            raise ctx.fail(f"its {what} is computed at run time; from_onnx needs it constant")
        value = self.const(onnx_node, index, ctx.where, what)
        return None if value is None else [int(v) for v in np.asarray(value).reshape(-1)]

    def _data_first(self, ctx: NodeContext) -> None:
        slots = [int(s) for s in ctx.node.attrs.get("onnx_inputs", [])]
        if not slots or slots[0] != 0:
            raise ctx.fail("its data input is a constant the reader did not fold")

    def _transpose(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        self._data_first(ctx)
        perm = a.get("perm")
        return M.Permute(None if perm is None else [int(p) for p in perm])

    def _slice(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        self._data_first(ctx)
        starts = self.setting(ctx, onnx_node, 1, "starts", a, "starts")
        ends = self.setting(ctx, onnx_node, 2, "ends", a, "ends")
        axes = self.setting(ctx, onnx_node, 3, "axes", a, "axes")
        steps = None if self.opset < 10 else self.setting(ctx, onnx_node, 4, "steps", a)
        if starts is None or ends is None:
            raise ctx.fail("a Slice needs starts and ends")
        return M.Slice(starts, ends, axes, steps)

    def _split(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        self._data_first(ctx)
        axis, k = int(a.get("axis", 0)), int(ctx.attr("onnx_output", 0))
        sizes = self.setting(ctx, onnx_node, 1, "split", a, "split")
        if sizes is None:  # equal parts (the last one smaller where ``num_outputs`` does not divide)
            full = (1, *ctx.in_shapes[0])
            n, parts = full[axis % len(full)], int(a.get("num_outputs", len(onnx_node.output)))
            step = -(-n // parts)
            sizes = [max(0, min(step, n - i * step)) for i in range(parts)]
        start = sum(sizes[:k])
        return M.Slice([start], [start + sizes[k]], [axis])

    def _gather(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        return self.operands(ctx, onnx_node, M.Gather(int(a.get("axis", 0))))

    def _reshape(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        self._data_first(ctx)
        target = self.setting(ctx, onnx_node, 1, "shape", a, "shape")
        if target is None:
            raise ctx.fail("a Reshape needs a shape")
        return M.ReshapeAll(target, bool(a.get("allowzero", 0)))

    def _layer_norm(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        self._data_first(ctx)
        slots = [int(s) for s in ctx.node.attrs.get("onnx_inputs", [])]
        if any(s >= 0 for s in slots[1:]):
            raise ctx.fail("its scale or bias is computed at run time; from_onnx needs them constant")
        if any(o and o in self.used for o in onnx_node.output[1:]):
            raise ctx.fail("its Mean / InvStdDev outputs are used; from_onnx ports output 0 only")
        scale, bias = self.const(onnx_node, 1, ctx.where, "scale"), self.const(onnx_node, 2, ctx.where, "bias")
        return M.LayerNorm(int(a.get("axis", -1)), float(a.get("epsilon", 1e-5)),
                           None if scale is None else torch.as_tensor(np.array(scale)),
                           None if bias is None else torch.as_tensor(np.array(bias)))

    def _instance_norm(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        self._data_first(ctx)
        if any(int(s) >= 0 for s in ctx.node.attrs.get("onnx_inputs", [])[1:]):
            raise ctx.fail("its scale or bias is computed at run time; from_onnx needs them constant")
        scale, bias = self.const(onnx_node, 1, ctx.where, "scale"), self.const(onnx_node, 2, ctx.where, "bias")
        return M.InstanceNorm(float(a.get("epsilon", 1e-5)),
                              None if scale is None else torch.as_tensor(np.array(scale)).reshape(-1),
                              None if bias is None else torch.as_tensor(np.array(bias)).reshape(-1))

    def _conv(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        """A ``Conv`` whose weights the graph computes (timm's CondConv mixes experts per sample)."""
        from ..geometry import Padding, PaddingError, conv

        self._data_first(ctx)
        nd = len(ctx.in_shapes[0]) - 1
        slots = [int(s) for s in ctx.node.attrs.get("onnx_inputs", [])]
        w_shape = (1, *ctx.in_shapes[slots[1]]) if len(slots) > 1 and slots[1] >= 0 else None
        if w_shape is None:
            w = self.const(onnx_node, 1, ctx.where, "weight")
            w_shape = None if w is None else tuple(w.shape)
        k = [int(v) for v in a.get("kernel_shape", [] if w_shape is None else w_shape[2:])]
        if len(k) != nd or not 1 <= nd <= 3:
            raise ctx.fail(f"a Conv with {nd} spatial axes and kernel {k} is not supported")
        spec = Padding.from_onnx(a.get("pads"), a.get("auto_pad", "NOTSET"), nd)
        padding = spec.convention if spec.convention not in ("explicit", "mixed") else list(spec.axes)
        try:
            g = conv(ctx.in_shapes[0][1:], k, [int(v) for v in a.get("strides", [1] * nd)], padding,
                     [int(v) for v in a.get("dilations", [1] * nd)])
        except PaddingError as exc:
            raise ctx.fail(str(exc)) from None
        inner = OnnxConv([w.stride for w in g.axes], [w.dilation for w in g.axes],
                         [(w.pad_before, w.pad_after) for w in g.axes], int(a.get("group", 1)))
        return self.operands(ctx, onnx_node, inner)

    def _flatten(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        self._data_first(ctx)
        return M.Flatten2d(int(a.get("axis", 1)))

    def _expand(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        self._data_first(ctx)
        shape = self.setting(ctx, onnx_node, 1, "shape", a)
        return M.Expand(shape or [])

    def _tile(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        self._data_first(ctx)
        return M.Tile(self.setting(ctx, onnx_node, 1, "repeats", a) or [])

    def _squeeze(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        self._data_first(ctx)
        axes = self.setting(ctx, onnx_node, 1, "axes", a, "axes")
        if onnx_node.op_type == "Squeeze":
            return M.Squeeze(axes)
        if not axes:
            raise ctx.fail("an Unsqueeze needs axes")
        return M.Unsqueeze(axes)

    def _nary(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        op = onnx_node.op_type
        inner: nn.Module = (M.MatMul() if op == "MatMul" else M.Where() if op == "Where" else
                            M.Einsum(_s(a["equation"])) if op == "Einsum" else M.Concat(int(a["axis"])))
        inputs = [i for i in onnx_node.input if i]
        if len(inputs) != len(onnx_node.input):
            raise ctx.fail("an omitted input is not supported here")
        return self.operands(ctx, onnx_node, inner)

    def _maxpool_indices(self, ctx: NodeContext, onnx_node: Any, a: dict[str, Any]) -> nn.Module:
        from ..geometry import Padding, PaddingError, pool

        k = [int(v) for v in a["kernel_shape"]]
        nd = len(k)
        spec = Padding.from_onnx(a.get("pads"), a.get("auto_pad", "NOTSET"), nd)
        padding = spec.convention if spec.convention not in ("explicit", "mixed") else list(spec.axes)
        try:
            g = pool(ctx.in_shapes[0][1:], k, [int(v) for v in a.get("strides", [1] * nd)], padding,
                     [int(v) for v in a.get("dilations", [1] * nd)], bool(a.get("ceil_mode", 0)), "torch")
        except PaddingError as exc:
            raise ctx.fail(str(exc)) from None
        return OnnxMaxPoolIndices([w.kernel for w in g.axes], [w.stride for w in g.axes],
                                  [w.dilation for w in g.axes], [(w.pad_before, w.pad_after) for w in g.axes],
                                  [w.output for w in g.axes], int(a.get("storage_order", 0)))


#: ONNX ops with no IR op of their own that :func:`from_onnx` ports exactly, on whole tensors.
_TENSOR_OPS: dict[str, Callable[[_Porter, NodeContext, Any, dict[str, Any]], nn.Module]] = {
    "Transpose": _Porter._transpose, "Slice": _Porter._slice, "Split": _Porter._split, "Gather": _Porter._gather,
    "Reshape": _Porter._reshape, "LayerNormalization": _Porter._layer_norm, "Expand": _Porter._expand,
    "Tile": _Porter._tile, "Squeeze": _Porter._squeeze, "Unsqueeze": _Porter._squeeze, "MatMul": _Porter._nary,
    "Where": _Porter._nary, "Concat": _Porter._nary, "Einsum": _Porter._nary,
    "InstanceNormalization": _Porter._instance_norm, "Flatten": _Porter._flatten, "Conv": _Porter._conv,
}


def from_onnx(model: Any, input_shape: Sequence[int] | None = None) -> PortedModel:
    """A PyTorch module equal to an ONNX model, its initializers as weights.

    ``model`` is an ``onnx.ModelProto`` or the path of a ``.onnx`` file; ``input_shape`` (per
    sample, NCHW) is only needed when the file leaves sizes open and a layer depends on them.
    The module is in eval mode and takes the model's data inputs in order; with several graph outputs it
    returns a tuple (``MaxPool``'s indices included). Raises :class:`OnnxPortError` naming the first
    node it cannot port (an op padstride has no module for, e.g. ``CumSum``, a setting computed at
    run time, a weight input with no initializer).

    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 7, 7])
    >>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    >>> pool = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
    ...                         auto_pad="SAME_LOWER")
    >>> from_onnx(helper.make_model(helper.make_graph([pool], "g", [x], [y]))).plan
    [('y', [0], 1)]
    """
    import onnx

    from ..analysis.adapters.onnx import read_onnx_graph

    if isinstance(model, (str, os.PathLike, Path)):
        model = onnx.load(os.fspath(model))  # weights and all: the port needs every value
    if not isinstance(model, onnx.ModelProto):
        raise OnnxPortError(f"expected an onnx.ModelProto or a path, got {type(model).__name__}")
    try:
        graph, _, folded = read_onnx_graph(model, input_shape)
    except Error as exc:
        raise OnnxPortError(str(exc)) from None
    porter = _Porter(model, folded)
    try:
        net = build(graph, porter.weights, porter.factory)
    except OnnxPortError:
        raise
    except BuildError as exc:
        raise OnnxPortError(str(exc)) from None
    return _with_runtime_weights(net, graph, porter, model) if porter.runtime or porter.extra else net


class RuntimeWeights(nn.Module):
    """``inner`` run with some of its parameters given as arguments after its data inputs (an ONNX graph
    input with no initializer in a weight slot): ``(parameter, transpose, scale, flatten)`` each, the
    layout change from ONNX's to PyTorch's (``Gemm``'s ``transB``/``alpha``).

    >>> import torch
    >>> RuntimeWeights(torch.nn.Linear(2, 1, bias=False), [("weight", True, 1.0, False)])(
    ...     torch.ones(1, 2), torch.tensor([[1.0], [2.0]]))
    tensor([[3.]])
    """

    def __init__(self, inner: nn.Module, params: Sequence[tuple[str, bool, float, bool]]) -> None:
        super().__init__()
        self.inner = inner
        self.params = [(str(n), bool(t), float(s), bool(f)) for n, t, s, f in params]

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        n = len(args) - len(self.params)
        given: dict[str, torch.Tensor] = {}
        for (name, transpose, scale, flat), value in zip(self.params, args[n:], strict=True):
            value = value.transpose(0, 1) if transpose else value
            value = value * scale if scale != 1.0 else value
            given[name] = value.reshape(-1) if flat else value
        out: torch.Tensor = torch.func.functional_call(self.inner, given, args[:n])
        return out


def _with_runtime_weights(net: PortedModel, graph: Any, porter: _Porter, model: Any) -> PortedModel:
    """``net`` taking the weights the graph gives as inputs (no initializer) as extra inputs, in the ONNX
    graph's input order: exact for any values, as onnxruntime runs the file."""
    given = {*(n for names in porter.extra.values() for n in names),
             *(r[0] for rows in porter.runtime.values() for r in rows)}
    next_slot = 1 + max([*net.inputs, *(o for _, _, o in net.plan)])
    slots: dict[str, int] = {}
    order: list[int] = []
    data_slots = iter(net.inputs)
    for inp in model.graph.input:
        if inp.name in porter.values:
            continue
        if inp.name in given:
            slots[inp.name] = next_slot
            order.append(next_slot)
            next_slot += 1
        else:
            order.append(next(data_slots))
    names = [n.name for n in graph.nodes if n.op != "input"]
    plan = []
    for node_name, (key, ins, out) in zip(names, net.plan, strict=True):
        extra = [*porter.extra.get(node_name, []), *(r[0] for r in porter.runtime.get(node_name, []))]
        if porter.runtime.get(node_name):
            net.layers[key] = RuntimeWeights(net.layers[key], [r[1:] for r in porter.runtime[node_name]])
        plan.append((key, [*ins, *(slots[e] for e in extra)], out))
    net.plan, net.inputs = plan, order
    return net
