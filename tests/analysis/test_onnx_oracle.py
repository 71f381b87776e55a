"""ONNX models built with ``onnx.helper``: padstride's static shapes against onnxruntime's outputs."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from padstride.analysis import analyze
from padstride.analysis.load import ModelError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


@st.composite
def onnx_models(draw):
    size = [draw(st.integers(5, 20)) for _ in range(2)]
    c = c0 = draw(st.integers(1, 3))
    nodes, inits, cur = [], [], "x"
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["Conv", "ConvTranspose", "MaxPool", "AveragePool", "Pad"]))
        out = f"t{i}"
        k = [draw(st.integers(1, 3)) for _ in range(2)]
        s = [draw(st.integers(1, 3)) for _ in range(2)]
        auto = draw(st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
        attrs = {"kernel_shape": k, "strides": s}
        if auto == "NOTSET":
            attrs["pads"] = [draw(st.integers(0, kk - 1)) for kk in k + k]
        else:
            attrs["auto_pad"] = auto
        if kind in ("Conv", "ConvTranspose"):
            c_out = draw(st.integers(1, 3))
            shape = [c_out, c, *k] if kind == "Conv" else [c, c_out, *k]
            inits += [numpy_helper.from_array(np.ones(shape, np.float32), f"w{i}"),
                      numpy_helper.from_array(np.zeros(c_out, np.float32), f"b{i}")]
            if kind == "ConvTranspose" and auto == "NOTSET":
                attrs["output_padding"] = [draw(st.integers(0, ss - 1)) for ss in s]
            nodes.append(helper.make_node(kind, [cur, f"w{i}", f"b{i}"], [out], **attrs))
            c = c_out
        elif kind == "Pad":
            pads = [0, 0, draw(st.integers(0, 2)), draw(st.integers(0, 2)), 0, 0, draw(st.integers(0, 2)), 1]
            inits.append(numpy_helper.from_array(np.array(pads, np.int64), f"p{i}"))
            nodes.append(helper.make_node("Pad", [cur, f"p{i}"], [out]))
        else:
            if draw(st.booleans()) and auto == "NOTSET":
                attrs["ceil_mode"] = 1
            attrs["pads"] = [min(p, kk // 2) for p, kk in zip(attrs.get("pads", []), k + k, strict=False)] or None
            if attrs["pads"] is None:
                del attrs["pads"]
            nodes.append(helper.make_node(kind, [cur], [out], **attrs))
        cur = out
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c0, *size])
    y = helper.make_tensor_value_info(cur, TensorProto.FLOAT, None)
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@settings(derandomize=True, max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(onnx_models())
def test_random_onnx_models_match_onnxruntime(model):
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    where = [(n.op_type, {a.name: helper.get_attribute_value(a) for a in n.attribute}) for n in model.graph.node]
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    try:
        sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        out = sess.run(None, {"x": np.zeros(dims, np.float32)})[0]
    except Exception as exc:  # onnxruntime refuses: padstride must find an error too
        if "padding values must be non-negative" in str(exc):
            return  # onnxruntime limitation: SAME_* pooling with stride > kernel (documented in docs/analysis.md)
        with contextlib.suppress(ModelError):
            assert analyze(model).errors, where
        return
    if 0 in out.shape:
        return
    s = analyze(model)
    if any("kernel < stride" in w for w in s.warnings):
        return  # spec and onnxruntime disagree; pinned in test_convtranspose_same_kernel_below_stride
    if s.errors and all("> padded input" in e for e in s.errors):
        return  # onnxruntime runs a window larger than its input; pinned in test_pool_window_larger_than_input
    assert not s.errors, (s.errors, dims, where)
    assert s.layer(s.graph.outputs[0]).shape == tuple(out.shape[1:]), (dims, where)
    assert s.total_params == sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.name[0] in "wb"), where


def test_convtranspose_same_kernel_below_stride():
    """Finding: ConvTranspose SAME_UPPER, kernel 1 < stride 2 on 5 pixels: spec n·s = 10, onnxruntime 9."""
    w = numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "w")
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], kernel_shape=[1, 1], strides=[2, 2],
                            auto_pad="SAME_UPPER")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 5, 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = helper.make_model(helper.make_graph([node], "g", [x], [y], [w]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    assert sess.run(None, {"x": np.zeros((1, 1, 5, 5), np.float32)})[0].shape == (1, 1, 9, 9)
    s = analyze(model)
    assert s.layer(s.graph.outputs[0]).shape == (1, 10, 10)
    assert any("onnxruntime (n−1)·stride + kernel" in w for w in s.warnings)


def test_pool_window_larger_than_input():
    """Finding: VALID MaxPool, kernel 3 on 2 pixels: onnxruntime returns 1 output (C division truncates)."""
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3], strides=[2], auto_pad="VALID")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = helper.make_model(helper.make_graph([node], "g", [x], [y]), opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    assert sess.run(None, {"x": np.zeros((1, 1, 2), np.float32)})[0].shape == (1, 1, 1)
    assert analyze(model).errors == ["y (MaxPool): axis 0: kernel 3 spans 3 > padded input 2 under 'valid'"]


def test_types_follow_cast_for_the_ops_after_it():
    """A ``Cast`` to int64 feeding ``Gather`` indices (an embedding lookup): shape inference needs the int type."""
    table = numpy_helper.from_array(np.zeros((10, 4), np.float32), "table")
    nodes = [helper.make_node("Cast", ["x"], ["idx"], to=TensorProto.INT64),
             helper.make_node("Gather", ["table", "idx"], ["y"], axis=0)]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 7])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], [table]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    assert sess.run(None, {"x": np.zeros((1, 7), np.float32)})[0].shape == (1, 7, 4)
    s = analyze(model)
    assert s.layer("y").shape == (7, 4) and s.total_params == 40


def test_an_op_of_another_domain_takes_the_files_annotation():
    """No schema, so no shape inference: the file's own value_info gives the shape; without it, a ModelError."""
    nodes = [helper.make_node("FusedThing", ["x"], ["t"], domain="com.example"), helper.make_node("Relu", ["t"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    t = helper.make_tensor_value_info("t", TensorProto.FLOAT, [1, 6, 4, 4])
    graph = helper.make_graph(nodes, "g", [x], [y], value_info=[t])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    s = analyze(model)
    assert s.layer("t").shape == (6, 4, 4) and s.layer("y").shape == (6, 4, 4)
    del model.graph.value_info[:]
    with pytest.raises(ModelError, match=r"t \(FusedThing\): not supported"):
        analyze(model)
