"""Every snippet `padstride explain` prints runs in its framework and computes what the geometry says.

The reference is a brute-force loop over the geometry's window taps (tests/explain/_reference.py);
the framework executes the generated code. Keras runs on its torch backend.
"""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from padstride.explain import all_frameworks

from . import _reference as ref
from .strategies import layer_requests

os.environ.setdefault("KERAS_BACKEND", "torch")
torch = pytest.importorskip("torch")
nn = torch.nn

SETTINGS = settings(max_examples=150, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


def _inputs(req):
    rng = np.random.default_rng(zlib.crc32(repr(req).encode()))
    cin, cout = req.channels
    x = rng.standard_normal((cin, *req.input))
    if req.op == "conv":
        w = rng.standard_normal((cout, cin, *req.kernel))
    elif req.op == "convtranspose":
        w = rng.standard_normal((cin, cout, *req.kernel))
    else:
        w = None
    return x, w


def _expected(req, x, w):
    g = req.geometry()
    if req.op == "conv":
        return ref.conv(x, w, g)
    if req.op == "convtranspose":
        return ref.conv_transpose(x, w, g)
    return ref.pool(x, g, "max" if req.op == "maxpool" else "avg", req.include_pad)


@SETTINGS
@given(req=layer_requests())
def test_pytorch_snippet_matches_geometry(req):
    code = all_frameworks(req)["pytorch"]
    layer = eval(code.code, {"nn": nn, "torch": torch}).double()
    x, w = _inputs(req)
    with torch.no_grad():
        for module in layer.modules():
            if isinstance(module, (nn.modules.conv._ConvNd,)):
                module.weight.copy_(torch.from_numpy(w))
                if module.bias is not None:
                    module.bias.zero_()
        got = layer(torch.from_numpy(x)[None])[0].numpy()
    want = _expected(req, x, w)
    assert got.shape == want.shape, f"{req}: {code.code} gives {got.shape}, geometry {want.shape}"
    if code.exact:
        np.testing.assert_allclose(got, want, atol=1e-9, err_msg=f"{req}\n{code.code}")
    else:
        assert not np.allclose(got, want), f"marked inexact but exact: {req}\n{code.code}"


def test_pytorch_refuses_strided_same_as_noted():
    with pytest.raises((RuntimeError, ValueError), match="same"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    notes = all_frameworks(_req("conv", (9, 9), 3, 2, "same"))["pytorch"].notes
    assert any("refuses padding='same'" in n for n in notes)


def test_pytorch_pool_refuses_pad_over_half_kernel_as_noted():
    with pytest.raises(RuntimeError, match="half"):
        nn.MaxPool1d(3, padding=2)(torch.zeros(1, 1, 5))
    code = all_frameworks(_req("maxpool", (5,), 3, 2, 2))["pytorch"]
    assert "ConstantPad1d" in code.code and any("kernel_size // 2" in n for n in code.notes)


def _req(op, n, k, s, padding, **kw):
    from padstride.explain import LayerRequest

    return LayerRequest.make(op, n, k, s, padding, **kw)


# ---------------------------------------------------------------- Keras (channels last)
keras = pytest.importorskip("keras")


def _keras_run(code: str, req, x, w):
    layer = eval(code, {"keras": keras})
    xl = np.moveaxis(x, 0, -1)[None].astype("float64")
    layers = layer.layers if isinstance(layer, keras.Sequential) else [layer]
    out = xl
    for lyr in layers:
        if lyr.__class__.__name__.startswith("Conv"):
            lyr.build(out.shape)
            nd = req.ndim
            if "Transpose" in lyr.__class__.__name__:  # keras (*k, C_out, C_in) from torch (C_in, C_out, *k)
                kernel = np.transpose(w, (*range(2, 2 + nd), 1, 0))
            else:  # keras (*k, C_in, C_out) from torch (C_out, C_in, *k)
                kernel = np.transpose(w, (*range(2, 2 + nd), 1, 0))
            lyr.set_weights([kernel, np.zeros(lyr.filters)])
        out = lyr(out)
    return np.moveaxis(keras.ops.convert_to_numpy(out)[0], -1, 0)


@SETTINGS
@given(req=layer_requests(ops=("conv", "maxpool", "avgpool", "convtranspose")))
def test_keras_snippet_matches_geometry(req):
    code = all_frameworks(req)["keras"]
    if not code.code:
        return
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        x, w = _inputs(req)
        if req.op == "maxpool" and not code.exact:
            x = np.abs(x)  # zero padding is exact for non-negative inputs, as noted
        got = _keras_run(code.code, req, x, w)
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)
    want = _expected(req, x, w)
    assert got.shape == want.shape, f"{req}: {code.code} gives {got.shape}, geometry {want.shape}"
    keras_fault = req.op == "avgpool" and req.padding.convention == "same" and not req.geometry().symmetric
    if keras_fault:
        return  # pinned in test_keras_same_avg_pool_fault_is_noted
    if code.exact or req.op == "maxpool":
        np.testing.assert_allclose(got, want, atol=1e-9, err_msg=f"{req}\n{code.code}")


def test_keras_same_avg_pool_fault_is_noted():
    """Keras on torch (3.15) averages asymmetric SAME borders with replicate padding, not TF's rule."""
    req = _req("avgpool", (6, 6), 3, 2, "same")
    code = all_frameworks(req)["keras"]
    assert any("19721" in n for n in code.notes)
    x, _ = _inputs(req)
    got = _keras_run(code.code, req, x, None)
    want = _expected(req, x, None)
    assert got.shape == want.shape
    assert not np.allclose(got, want), "Keras now matches TF's SAME average pooling: drop the note"


def test_keras_refuses_strided_dilation_as_noted():
    with pytest.raises(ValueError, match="dilation_rate"):
        keras.layers.Conv2D(1, 3, strides=2, dilation_rate=2)
    code = all_frameworks(_req("conv", (9, 9), 3, 2, "same", dilation=2))["keras"]
    assert not code.code and not code.exact


# ---------------------------------------------------------------- ONNX
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _onnx_run(code: str, req, x, w):
    from onnx import TensorProto, helper

    nodes = eval(code, {"helper": helper})
    nodes = nodes if isinstance(nodes, list) else [nodes]
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, *x.shape])]
    x, w = x.astype(np.float32), None if w is None else w.astype(np.float32)  # onnxruntime Conv: float32
    feeds = {"X": x[None]}
    if w is not None:
        inputs.append(helper.make_tensor_value_info("W", TensorProto.FLOAT, list(w.shape)))
        feeds["W"] = w
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0][0]


@SETTINGS
@given(req=layer_requests(ops=("conv", "maxpool", "avgpool", "convtranspose")))
def test_onnx_snippet_matches_geometry(req):
    code = all_frameworks(req)["onnx"]
    if not code.code:
        assert not code.exact and code.notes
        return
    x, w = _inputs(req)
    got = _onnx_run(code.code, req, x, w)
    want = _expected(req, x, w)
    assert got.shape == want.shape, f"{req}: {code.code} gives {got.shape}, geometry {want.shape}"
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4, err_msg=f"{req}\n{code.code}")


def test_onnxruntime_rejects_dilation_with_same_as_noted():
    code = "helper.make_node('Conv', ['X', 'W'], ['Y'], kernel_shape=[3], dilations=[2], auto_pad='SAME_UPPER')"
    req = _req("conv", (9,), 3, 1, "same", dilation=2)
    x, w = np.ones((3, 9)), np.ones((8, 3, 3))
    with pytest.raises(Exception, match="Dilation not supported"):
        _onnx_run(code, req, x, w)
    assert any("rejects dilation" in n for n in all_frameworks(req)["onnx"].notes)


# ---------------------------------------------------------------- JAX
jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)


@settings(SETTINGS, max_examples=40)  # XLA compiles every new shape: fewer, still random, cases
@given(req=layer_requests(ops=("conv", "maxpool", "avgpool", "convtranspose")))
def test_jax_snippet_matches_geometry(req):
    code = all_frameworks(req)["jax"]
    x, w = _inputs(req)
    got = np.asarray(eval(code.code, {"jax": jax, "x": jax.numpy.asarray(x[None]),
                                      "w": None if w is None else jax.numpy.asarray(w)}))[0]
    want = _expected(req, x, w)
    assert got.shape == want.shape, f"{req}: {code.code} gives {got.shape}, geometry {want.shape}"
    np.testing.assert_allclose(got, want, atol=1e-9, err_msg=f"{req}\n{code.code}")
