"""No ONNX model crashes the reader: random ops with random (often invalid) attributes and inputs.

Each model chains a few nodes drawn from the ops the reader models, folds or infers, with
attributes drawn from small ranges that include zeros, negatives and wrong lengths. The reader
must return a summary or raise a :class:`ModelError` with a one-line message: never another
exception, never a traceback for the user.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from padstride.analysis import analyze
from padstride.analysis.load import ModelError
from tests._helpers import oracle_settings

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

small = st.integers(-2, 4)
ints = st.lists(small, min_size=0, max_size=5)


@st.composite
def models(draw):
    rank = draw(st.integers(2, 5))
    shape = [1, *[draw(st.integers(1, 9)) for _ in range(rank - 1)]]
    nodes, inits, cur = [], [], "x"
    for i in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["Conv", "ConvTranspose", "MaxPool", "AveragePool", "Pad", "Reshape", "Resize",
                                   "Concat", "Flatten", "Gemm", "MatMul", "Transpose", "Slice", "Split", "Unsqueeze",
                                   "Squeeze", "Add", "Expand", "Shape", "ReduceMean", "Softmax", "Gather"]))
        out, attrs, ins = f"t{i}", {}, [cur]
        for key in draw(st.lists(st.sampled_from(["kernel_shape", "strides", "pads", "dilations", "perm",
                                                  "output_padding", "axes"]), max_size=3, unique=True)):
            attrs[key] = draw(ints)
        if draw(st.booleans()):
            attrs["group"] = draw(small)
        if draw(st.booleans()):
            attrs["axis"] = draw(small)
        if draw(st.booleans()):
            attrs["auto_pad"] = draw(st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "BOGUS"]))
        if op in ("MaxPool", "AveragePool") and "kernel_shape" not in attrs:
            attrs["kernel_shape"] = draw(ints)
        if op in ("Conv", "ConvTranspose", "Gemm", "MatMul", "Pad", "Reshape", "Resize", "Expand", "Slice", "Gather",
                  "Concat", "Add"):
            dims = draw(st.lists(st.integers(-1, 4), min_size=0, max_size=5))
            dtype = np.int64 if op in ("Pad", "Reshape", "Expand", "Slice", "Gather") else np.float32
            name = f"c{i}"
            value = np.array(dims, dtype) if dtype is np.int64 else np.zeros([abs(d) for d in dims], dtype)
            inits.append(numpy_helper.from_array(value, name))
            ins += ["", "", name] if op == "Resize" else [name]
        attrs = {k: v for k, v in attrs.items() if not (isinstance(v, list) and not v)}
        nodes.append(helper.make_node(op, ins, [out], **attrs))
        cur = out
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info(cur, TensorProto.FLOAT, None)
    model = helper.make_model(helper.make_graph(nodes, "fuzz", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@oracle_settings(300)
@given(models())
def test_random_models_never_crash(model) -> None:
    try:
        s = analyze(model)
    except ModelError as exc:
        text = str(exc)
        assert text and "\n" not in text and len(text) < 600, text
        return
    assert s.layers
