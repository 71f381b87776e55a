"""``padstride.torch.AvgPool1d/2d/3d(dilation=…)``: dilated average pooling, which PyTorch's own
avg pools lack (ONNX AveragePool from opset 19 and TF's ``tf.nn.pool`` have it), against the NumPy
engine (float64; the engine passes ONNX's six dilated AveragePool conformance cases) and
onnxruntime's AveragePool (float32)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from padstride import engine, geometry
from padstride.geometry import PaddingError
from padstride.torch import AvgPool1d, AvgPool2d, AvgPool3d
from tests._helpers import oracle_settings

from .oracles import _run

LAYERS = {1: AvgPool1d, 2: AvgPool2d, 3: AvgPool3d}


@oracle_settings(80)
@given(st.data())
def test_dilated_avg_pool_matches_engine_and_onnxruntime(data: st.DataObject) -> None:
    nd = data.draw(st.integers(1, 3), "nd")
    axes = st.lists(st.integers(1, 3), min_size=nd, max_size=nd)
    kernel, stride = data.draw(axes, "kernel"), data.draw(axes, "stride")
    dil = data.draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd).filter(lambda d: max(d) > 1), "dilation")
    size = data.draw(st.lists(st.integers(1, {1: 12, 2: 8, 3: 6}[nd]), min_size=nd, max_size=nd), "size")
    padding = data.draw(st.one_of(
        st.sampled_from(["same", "valid", "same_lower"]),
        st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=nd, max_size=nd)), "padding")
    ceil = data.draw(st.booleans(), "ceil_mode")
    include = data.draw(st.sampled_from([None, True, False]), "count_include_pad")
    divisor = data.draw(st.sampled_from([None, 3])) if nd > 1 else None
    try:
        geo = geometry.pool(size, kernel, stride, padding, dil, ceil)
    except PaddingError:
        assume(False)
        return
    x = np.random.default_rng(nd).standard_normal((2, 3, *size))
    kw = {"divisor_override": divisor} if nd > 1 else {}
    layer = LAYERS[nd](kernel, stride, padding, ceil, include, dilation=dil, **kw)
    got = layer(torch.from_numpy(x)).numpy()
    counted = layer.count_include_pad
    cfg = dict(size=size, kernel=kernel, stride=stride, dilation=dil, padding=padding, ceil=ceil,
               include=include, divisor=divisor)
    if divisor is None:
        want = engine.pool(x, kernel, stride, padding, "avg", ceil, counted, dil)
    else:
        # window sums (the mean with padded cells counted × that count) over the override
        want = engine.pool(x, kernel, stride, padding, "avg", ceil, True, dil) * _include_counts(geo) / divisor
    assert got.shape == want.shape, cfg
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=str(cfg))
    pads = geo.pads
    if divisor is None and all(max(p) < k for p, k in zip(pads, kernel, strict=True)) and all(
            a.real_cells(a.output - 1) > 0 and a.real_cells(0) > 0 for a in geo):  # onnxruntime's limits
        ort = _ort_avg_pool(x, kernel, stride, pads, ceil, counted, dil)
        np.testing.assert_allclose(got, ort, rtol=1e-5, atol=1e-5, err_msg=str(cfg))


def _ort_avg_pool(x: np.ndarray, kernel: list[int], stride: list[int], pads: tuple[tuple[int, int], ...],
                  ceil: bool, include: bool, dilation: list[int]) -> np.ndarray:
    """ONNX AveragePool (opset 19, float32) with dilations."""
    from onnx import helper

    node = helper.make_node("AveragePool", ["X"], ["Y"], kernel_shape=kernel, strides=stride, dilations=dilation,
                            pads=[p[0] for p in pads] + [p[1] for p in pads], ceil_mode=int(ceil),
                            count_include_pad=int(include))
    return _run(node, {"X": x.astype(np.float32)}, x.ndim)


def _include_counts(geo: geometry.Geometry) -> np.ndarray:
    """The count_include_pad divisor of every output position (product over axes)."""
    out = np.ones(())
    for a in geo:
        out = np.multiply.outer(out, np.asarray(geometry.avg_divisors(a, True), np.float64))
    return out


def test_dilation_keeps_the_nn_constructor_and_repr() -> None:
    """``dilation`` is keyword-only: the positional arguments stay ``nn.AvgPool2d``'s."""
    layer = AvgPool2d(3, 2, 1, True, False, None, dilation=(2, 1))
    assert layer.ceil_mode and not layer.count_include_pad and layer.divisor_override is None
    assert "dilation=(2, 1)" in repr(layer)
    assert "dilation" not in repr(AvgPool2d(3, 2, 1))
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert torch.equal(AvgPool2d(2, 1, dilation=1)(x), torch.nn.AvgPool2d(2, 1)(x))


def test_dilated_avg_pool_exports_with_dynamic_sizes() -> None:
    """torch.export with symbolic sizes: pads recomputed in the graph, one graph for every size
    (without ceil_mode; under ceil_mode the geometry's window count needs concrete sizes)."""
    from torch.export import Dim

    layer = AvgPool2d(3, 2, "same", dilation=(2, 1))
    dims = {2: Dim("h", min=5, max=64), 3: Dim("w", min=5, max=64)}
    ep = torch.export.export(layer, (torch.randn(1, 2, 11, 9, dtype=torch.float64),), dynamic_shapes=(dims,))
    for shape in [(11, 9), (13, 20), (64, 5)]:
        x = torch.randn(1, 2, *shape, dtype=torch.float64)
        want = engine.pool(x.numpy(), 3, 2, "same", "avg", False, False, (2, 1))
        np.testing.assert_allclose(ep.module()(x).numpy(), want, rtol=1e-12, atol=1e-12, err_msg=str(shape))
