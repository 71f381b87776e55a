"""ONNX model → graph IR with the ``onnx`` package only (no runtime): attributes and initializers.

``auto_pad`` maps onto padstride's conventions (``SAME_UPPER`` → ``same``, ``SAME_LOWER`` →
``same_lower``, ``VALID`` → ``valid``) and explicit ``pads`` onto ``(before, after)`` pairs, so pads
come from :mod:`padstride.geometry` like everywhere else. Pooling with ``ceil_mode`` follows what
onnxruntime computes (the ``torch`` rule); where the ONNX spec text gives another size, a warning
says so. Ops padstride does not model get their shape from ``onnx.shape_inference``.

>>> from onnx import TensorProto, helper
>>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])
>>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
>>> pool = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
>>> g = graph_from_onnx(helper.make_model(helper.make_graph([pool], "g", [x], [y])))
>>> g.nodes[-1].attrs["padding"], g.nodes[-1].attrs["stride"]
('same', [2, 2])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..builder import GraphBuilder
from ..ir import Graph
from ..load import ModelError

__all__ = ["graph_from_onnx"]

_ACTIVATIONS = {
    "Relu", "Sigmoid", "Tanh", "LeakyRelu", "Elu", "Selu", "Softmax", "LogSoftmax", "HardSigmoid", "HardSwish",
    "Softplus", "Clip", "Gelu", "Mish", "Exp", "Abs", "Neg", "Sqrt", "Erf", "Cast", "Celu", "ThresholdedRelu",
}
_AUTO_PAD = {"SAME_UPPER": "same", "SAME_LOWER": "same_lower", "VALID": "valid"}


class _Converter:
    def __init__(self, model: Any, input_shape: Sequence[int] | None) -> None:
        import onnx
        from onnx import numpy_helper

        self.onnx, self.np_helper = onnx, numpy_helper
        self.model = model
        self.graph = model.graph
        name = self.graph.name or "onnx_model"
        self.b = GraphBuilder(name, layout="channels_first", framework="onnx")
        self.consts: dict[str, Any] = {i.name: numpy_helper.to_array(i) for i in self.graph.initializer}
        self.refs: dict[str, str] = {}
        self.input_shape = input_shape
        self.notes: list[str] = []
        self._inferred: dict[str, list[int | None]] | None = None

    def attrs(self, node: Any) -> dict[str, Any]:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def inferred(self, name: str) -> list[int | None] | None:
        if self._inferred is None:
            self._inferred = {}
            try:
                inferred = self.onnx.shape_inference.infer_shapes(self.model)
            except Exception:
                return None
            for v in [*inferred.graph.value_info, *inferred.graph.output]:
                dims = v.type.tensor_type.shape.dim
                self._inferred[v.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
        return self._inferred.get(name)

    def run(self) -> Graph:
        inputs = [i for i in self.graph.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise ModelError(f"{self.b.name}: only models with one input tensor are supported, got {len(inputs)}")
        dims = inputs[0].type.tensor_type.shape.dim
        shape: list[int | None] = [d.dim_value if d.HasField("dim_value") else None for d in dims][1:]
        if self.input_shape is not None:
            shape = list(self.input_shape)
        if not shape or any(s is None or s < 1 for s in shape):
            raise ModelError(f"{inputs[0].name}: input shape {tuple(shape)} has unknown sizes; pass one with --input")
        self.refs[inputs[0].name] = self.b.input([int(s) for s in shape if s is not None], name=inputs[0].name)
        for node in self.graph.node:
            self.convert(node)
        outputs = [self.refs[o.name] for o in self.graph.output if o.name in self.refs]
        g = self.b.build(outputs or None)
        g.notes = tuple(self.notes)
        return g

    def name(self, node: Any) -> str:
        base = str(node.name or node.output[0])
        name, i = base, 1
        while name in {n.name for n in self.b.nodes}:
            name, i = f"{base}_{i}", i + 1
        return name

    def const(self, name: str, where: str) -> Any:
        if name not in self.consts:
            raise ModelError(f"{where}: input {name!r} must be a constant for a static analysis")
        return self.consts[name]

    def convert(self, node: Any) -> None:
        op, a = node.op_type, self.attrs(node)
        if op == "Constant":
            value = a.get("value")
            self.consts[node.output[0]] = self.np_helper.to_array(value) if value is not None else None
            return
        tensors = [i for i in node.input if i in self.refs]
        if not tensors:  # a constant subgraph (exporters compute Pad's pads so): fold it where it is all constants
            self._fold(node)
            return
        if op == "Shape":  # of a tensor: static here, with batch 1
            shape = np.array([1, *self._shape(self.refs[tensors[0]])], np.int64)
            self.consts[node.output[0]] = shape[a.get("start", 0):a.get("end", len(shape))]
            return
        name, b = self.name(node), self.b
        x = self.refs[tensors[0]]
        out: str
        if op in ("Conv", "ConvTranspose"):
            w = self.const(node.input[1], name)
            group = int(a.get("group", 1))
            k = list(a.get("kernel_shape", w.shape[2:]))
            pad: object = _AUTO_PAD.get(_s(a.get("auto_pad", "NOTSET")))
            if pad is None:
                pads = list(a.get("pads", [0] * 2 * len(k)))
                pad = [(pads[i], pads[i + len(k)]) for i in range(len(k))]
            bias = len(node.input) > 2 and bool(node.input[2])
            if op == "Conv":
                out = b.conv(x, int(w.shape[0]), k, list(a.get("strides", [1] * len(k))), pad,
                             list(a.get("dilations", [1] * len(k))), group, bias, in_channels=int(w.shape[1]) * group,
                             name=name, type=op)
            else:
                dil = list(a.get("dilations", [1] * len(k)))
                steps = list(a.get("strides", [1] * len(k)))
                short = any(d * (kk - 1) + 1 < st for kk, st, d in zip(k, steps, dil, strict=False))
                if pad in ("same", "same_lower") and short:
                    self.notes.append(f"{name}: ConvTranspose {_s(a['auto_pad'])} with kernel < stride: the ONNX spec "
                                      "gives n·stride, onnxruntime (n−1)·stride + kernel; padstride follows the spec")
                out = b.conv_transpose(x, int(w.shape[1]) * group, k, list(a.get("strides", [1] * len(k))), pad,
                                       list(a.get("output_padding", [0] * len(k))),
                                       list(a.get("dilations", [1] * len(k))), group, bias, rule="onnx",
                                       output_size=list(a["output_shape"])[-len(k):] if "output_shape" in a else None,
                                       in_channels=int(w.shape[0]), name=name, type=op)
        elif op in ("MaxPool", "AveragePool", "LpPool"):
            k = list(a["kernel_shape"])
            pad = _AUTO_PAD.get(_s(a.get("auto_pad", "NOTSET")))
            if pad is None:
                pads = list(a.get("pads", [0] * 2 * len(k)))
                pad = [(pads[i], pads[i + len(k)]) for i in range(len(k))]
            strides = list(a.get("strides", [1] * len(k)))
            ceil = bool(a.get("ceil_mode", 0))
            kind = "max" if op == "MaxPool" else "avg"
            out = b.pool(x, kind, k, strides, pad, list(a.get("dilations", [1] * len(k))), ceil, "torch",
                         bool(a.get("count_include_pad", 0)), name=name, type=op)
            if ceil:
                self._check_ceil(out, k, strides, pad)
        elif op in ("GlobalAveragePool", "GlobalMaxPool"):
            out = b.global_pool(x, "max" if "Max" in op else "avg", keepdims=True, name=name, type=op)
        elif op == "Pad":
            pads = [int(p) for p in (self.const(node.input[1], name) if len(node.input) > 1 else a["pads"])]
            half = len(pads) // 2
            if pads[0] or pads[1] or pads[half] or pads[half + 1]:
                raise ModelError(f"{name} (Pad): padding the batch or channel axis is not supported")
            out = b.pad(x, [(pads[i], pads[i + half]) for i in range(2, half)], _s(a.get("mode", "constant")),
                        name=name, type=op)
        elif op in ("Resize", "Upsample"):
            out = self._resize(node, a, x, name)
        elif op == "Concat":
            out = b.concat([self.refs[i] for i in tensors], axis=int(a["axis"]), name=name, type=op)
        elif op in ("Add", "Sum", "Sub", "Mul", "Div", "Max", "Min", "Mean"):
            if len(tensors) >= 2:
                out = b.node("mul" if op in ("Mul", "Div") else "add", [self.refs[i] for i in tensors], name, op)
            else:
                consts = [self.consts[i] for i in node.input if i in self.consts and self.consts[i] is not None]
                params = sum(int(c.size) for c in consts if c.size > 1)
                out = b.opaque(x, self._shape(x), params, name=name, type=op) if params else b.identity(
                    x, name=name, type=op)
        elif op == "Flatten":
            axis = int(a.get("axis", 1))
            if axis != 1:
                raise ModelError(f"{name} (Flatten): axis {axis} is not supported")
            out = b.flatten(x, name=name, type=op)
        elif op == "Reshape":
            target = [int(t) for t in self.const(node.input[1], name)]
            dims = self._shape(x)
            target = [dims[i - 1] if t == 0 and i > 0 else t for i, t in enumerate(target)]
            absorbing = target[0] == -1 and -1 not in target[1:]
            out = b.reshape(x, target[1:], batch_absorbing=absorbing, name=name, type=op)
        elif op in ("Gemm", "MatMul"):
            w = self.const(node.input[1], name)
            trans = bool(a.get("transB", 0)) if op == "Gemm" else False
            units, fan_in = (w.shape[0], w.shape[1]) if trans else (w.shape[-1], w.shape[-2])
            bias = op == "Gemm" and len(node.input) > 2 and bool(node.input[2])
            out = b.dense(x, int(units), bias, in_features=int(fan_in), name=name, type=op)
        elif op == "BatchNormalization":
            out = b.norm(x, "batch", True, stats=True, stats_are_params=True, name=name, type=op)
        elif op in ("InstanceNormalization", "LayerNormalization", "GroupNormalization"):
            consts = [self.consts[i] for i in node.input[1:] if i in self.consts]
            params = sum(int(c.size) for c in consts if c is not None)
            out = b.opaque(x, self._shape(x), params, name=name, type=op)
        elif op in _ACTIVATIONS:
            out = b.activation(x, op.lower(), name=name, type=op)
        elif op in ("Dropout",):
            out = b.dropout(x, name=name, type=op)
        elif op == "Identity":
            out = b.identity(x, name=name, type=op)
        else:
            found = self.inferred(node.output[0])
            if not found or any(s is None for s in found[1:]):
                raise ModelError(f"{name} ({op}): not supported and onnx shape inference gives no static shape")
            params = sum(int(self.consts[i].size) for i in node.input
                         if i in self.consts and self.consts[i] is not None)
            out = b.opaque([self.refs[i] for i in tensors], [int(s) for s in found[1:] if s is not None], params,
                           name=name, type=op)
        self.refs[node.output[0]] = out

    def _fold(self, node: Any) -> None:
        """Evaluate a node whose inputs are all constants (``onnx.reference``); unknown inputs leave it unknown."""
        names = [i for i in node.input if i]
        if any(self.consts.get(i) is None for i in names):
            return
        from onnx.reference import ReferenceEvaluator

        try:
            values = ReferenceEvaluator(node).run(None, {i: self.consts[i] for i in names})
        except Exception:  # an op the reference cannot run: its outputs stay unknown
            return
        self.consts.update(zip(node.output, values, strict=False))

    def _shape(self, ref: str) -> tuple[int, ...]:
        info = self.b.propagated()[ref]
        if info.shape is None:
            raise ModelError(f"{ref}: shape unknown after an earlier error: {'; '.join(info.errors)}")
        return info.shape

    def _resize(self, node: Any, a: dict[str, Any], x: str, name: str) -> str:
        mode = _s(a.get("mode", "nearest"))
        corners = _s(a.get("coordinate_transformation_mode", "half_pixel")) == "align_corners"
        shape = self._shape(x)
        inputs = list(node.input)
        if node.op_type == "Upsample":
            scales = self.const(inputs[1], name) if len(inputs) > 1 else a["scales"]
            return self.b.upsample(x, [float(s) for s in list(scales)[2:]], mode=mode, align_corners=corners,
                                   name=name, type=node.op_type)
        sizes = inputs[3] if len(inputs) > 3 and inputs[3] else None
        if sizes:
            target = [int(s) for s in self.const(sizes, name)][2:]
            return self.b.upsample(x, size=target, mode=mode, align_corners=corners, name=name, type=node.op_type)
        scales = [float(s) for s in self.const(inputs[2], name)][2:]
        if any(not math.isclose(s * n, round(s * n)) for s, n in zip(scales, shape[1:], strict=False)):
            self.notes.append(f"{name}: scale {scales} does not give whole sizes; ONNX rounds down")
        return self.b.upsample(x, scales, mode=mode, align_corners=corners, name=name, type=node.op_type)

    def _check_ceil(self, ref: str, k: list[int], strides: list[int], pad: object) -> None:
        from ...geometry import pool

        infos = self.b.propagated()
        node = self.b.nodes[-1]
        src = infos[node.inputs[0]]
        if src.shape is None:
            return
        try:
            spec = pool(src.shape[1:], k, strides, pad, ceil_mode=True, rule="onnx").output
            ours = pool(src.shape[1:], k, strides, pad, ceil_mode=True, rule="torch").output
        except ValueError:
            return
        if spec != ours:
            self.notes.append(f"{ref}: ceil_mode gives {ours} in onnxruntime (and PyTorch) but {spec} by the ONNX "
                              "spec text; padstride follows onnxruntime")


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def graph_from_onnx(model: Any, input_shape: Sequence[int] | None = None) -> Graph:
    """The graph of an ONNX model (a ``ModelProto`` or a path); ``input_shape`` per sample, NCHW order.

    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])
    >>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    >>> m = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]))
    >>> graph_from_onnx(m).nodes[0].attrs["shape"]
    (1, 28, 28)
    """
    import onnx

    if isinstance(model, (str, Path)):
        try:
            model = onnx.load(str(model))
        except Exception as exc:
            raise ModelError(f"{model}: not a readable ONNX file ({type(exc).__name__})") from None
    return _Converter(model, input_shape).run()
