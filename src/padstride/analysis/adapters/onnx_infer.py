"""One ONNX node's output shapes from its inputs' shapes and constant values: ONNX's own shape inference.

Run per node, on the shapes padstride computed for its inputs, so the answer follows padstride's
(onnxruntime's) sizes upstream rather than a second whole-model pass; constant inputs (a
``Reshape`` target, ``Slice`` starts) are passed as data, the way ``onnx.shape_inference`` uses
initializers. Only shapes are computed: no tensor is allocated.

>>> from onnx import TensorProto, helper
>>> node = helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 3, 1])
>>> infer_node(node, {"x": (TensorProto.FLOAT, (1, 3, 8, 9))}, {}, {"": 17})
[((1, 8, 9, 3), 1)]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["infer_node"]

Shape = tuple[int, ...]


def _schema(op: str, domain: str, opsets: Mapping[str, int]) -> Any:
    from onnx import defs

    version = opsets.get(domain, opsets.get("ai.onnx" if domain == "" else domain, 0))
    try:
        return defs.get_schema(op, version or defs.onnx_opset_version(), domain)
    except Exception:
        return None


def infer_node(node: Any, types: Mapping[str, tuple[int, Shape]], data: Mapping[str, np.ndarray],
               opsets: Mapping[str, int]) -> list[tuple[Shape, int] | None]:
    """Per output of ``node``: ``(static shape, element type)``, or ``None`` where inference cannot tell.

    ``types``: element type and shape of each input; ``data``: the values of constant inputs.
    """
    from onnx import helper, numpy_helper, shape_inference

    unknown: list[tuple[Shape, int] | None] = [None] * len(node.output)
    schema = _schema(node.op_type, node.domain or "", opsets)
    if schema is None:
        return unknown
    try:
        input_types = {name: helper.make_tensor_type_proto(t, list(shape)) for name, (t, shape) in types.items()}
        input_data = {name: numpy_helper.from_array(np.asarray(v), name) for name, v in data.items()}
        imports = [helper.make_opsetid(domain, version) for domain, version in opsets.items()]
        found = shape_inference.infer_node_outputs(schema, node, input_types, input_data, opset_imports=imports)
    except Exception:  # inference refuses the node (bad attributes, unsupported case)
        return unknown
    out: list[tuple[Shape, int] | None] = []
    for name in node.output:
        t = found.get(name)
        if t is None or not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
            out.append(None)
            continue
        dims = t.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            out.append((tuple(int(d.dim_value) for d in dims), int(t.tensor_type.elem_type)))
        else:
            out.append(None)
    return out
