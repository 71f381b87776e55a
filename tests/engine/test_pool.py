"""engine.pool against torch's max/avg pooling (float64), onnxruntime's SAME pooling, and Keras."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from padstride import geometry
from padstride.engine import pool, set_block_bytes, set_workers
from padstride.geometry import PaddingError

from ._oracle import check, draw_axes, oracle_settings, torch_op, torch_pad


def _with(block: int, workers: int, fn):  # type: ignore[no-untyped-def]
    old_b, old_w = set_block_bytes(block), set_workers(workers)
    try:
        return fn()
    finally:
        set_block_bytes(old_b)
        set_workers(old_w)


@oracle_settings(120)
@given(st.data())
def test_pool_matches_torch_native(data: st.DataObject) -> None:
    """Symmetric explicit pads, ceil_mode, dilation (max), count_include_pad (avg), both layouts."""
    nd = data.draw(st.integers(1, 3), "nd")
    mode = data.draw(st.sampled_from(["max", "avg"]), "mode")
    size = draw_axes(data, nd, 1, {1: 12, 2: 9, 3: 6}[nd], "size")
    kernel = draw_axes(data, nd, 1, 4, "kernel")
    stride = draw_axes(data, nd, 1, 3, "stride")
    dil = draw_axes(data, nd, 1, 2, "dilation")
    pads = tuple(data.draw(st.integers(0, k // 2), f"pad{i}") for i, k in enumerate(kernel))  # torch's limit
    ceil = data.draw(st.booleans(), "ceil_mode")
    include = data.draw(st.sampled_from([None, True, False]), "count_include_pad")
    block, workers = data.draw(st.sampled_from([1, 500, 4 << 20])), data.draw(st.sampled_from([1, 2]))
    try:
        geometry.pool(size, kernel, stride, list(pads), dil, ceil)
    except PaddingError:
        assume(False)
    x = np.random.default_rng(nd).standard_normal((2, 3, *size))
    op = torch_op(f"{mode}_pool", nd)
    kw = {"dilation": dil} if mode == "max" else {"count_include_pad": include is not False}
    try:
        if mode == "avg" and dil != (1,) * nd:  # torch's avg pools have no dilation: unfold
            want = dilated_avg_pool(x, kernel, stride, pads, dil, ceil, include is not False)
        else:
            want = op(torch.from_numpy(x), kernel, stride, pads, ceil_mode=ceil, **kw).numpy()
    except RuntimeError:  # torch rejects some inputs smaller than the kernel even when padded
        assume(False)
        return
    extra = {} if mode == "max" else {"count_include_pad": include}
    got = _with(block, workers, lambda: pool(x, kernel, stride, list(pads), mode, ceil, dilation=dil, **extra))
    cfg = (nd, mode, size, kernel, stride, dil, pads, ceil, include, block, workers)
    check(got, want, cfg)
    got_last = pool(np.moveaxis(x, 1, -1), kernel, stride, list(pads), mode, ceil, dilation=dil,
                    layout="channels_last", **extra)
    check(np.moveaxis(got_last, -1, 1), want, (*cfg, "channels_last"))


def dilated_avg_pool(x: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...], pads: tuple[int, ...],
                     dilation: tuple[int, ...], ceil: bool, include_pad: bool) -> np.ndarray:
    """Dilated average pooling by torch ops: the window's taps by ``Tensor.unfold`` per axis over
    the zero-padded input (and a ones map padded by 1s or 0s for the divisor), summed."""
    geo = geometry.pool(x.shape[2:], kernel, stride, list(pads), dilation, ceil)
    pad = torch_pad([(a.pad_before, a.pad_after + a.overhang) for a in geo])
    marks = torch.ones(x.shape, dtype=torch.float64)
    marks = F.pad(marks, torch_pad(geo.pads), value=1.0 if include_pad else 0.0)
    marks = F.pad(marks, torch_pad([(0, a.overhang) for a in geo]))  # the overhang never counts
    t = F.pad(torch.from_numpy(x), pad)
    nd = geo.ndim
    for i, a in enumerate(geo):  # unfold spans, then keep every dilation-th tap
        t = t.unfold(2 + i, a.span, a.stride)[..., :: a.dilation]
        marks = marks.unfold(2 + i, a.span, a.stride)[..., :: a.dilation]
    axes = tuple(range(-nd, 0))
    return (t.sum(axes) / marks.sum(axes)).numpy()


def sum_over_count(x: np.ndarray, geo: geometry.Geometry, include_pad: bool) -> np.ndarray:
    """Average pooling by torch ops: zero-pad, sum-pool, divide by a pooled count map (always exact)."""
    nd = geo.ndim
    kernel, stride = [a.kernel for a in geo], [a.stride for a in geo]
    t = torch.from_numpy(x)
    ones = torch.ones_like(t)
    pad = torch_pad(geo.pads)
    cells = float(np.prod(kernel))
    total = torch_op("avg_pool", nd)(F.pad(t, pad), kernel, stride) * cells
    marks = F.pad(ones, pad, value=1.0 if include_pad else 0.0)
    count = torch_op("avg_pool", nd)(marks, kernel, stride) * cells
    return (total / count).numpy()


@oracle_settings(120)
@given(st.data())
def test_pool_conventions(data: st.DataObject) -> None:
    """Every convention name and mixed per-axis specs, for max (-inf pads) and avg (divisor rule)."""
    nd = data.draw(st.integers(1, 3), "nd")
    size = draw_axes(data, nd, 1, 8, "size")
    kernel = draw_axes(data, nd, 1, 4, "kernel")
    stride = draw_axes(data, nd, 1, 3, "stride")
    names = ["valid", "same", "same_lower", "full", "causal"]
    padding = data.draw(st.one_of(st.sampled_from(names),
                                  st.lists(st.one_of(st.sampled_from(names), st.integers(0, 1)),
                                           min_size=nd, max_size=nd)), "padding")
    mode = data.draw(st.sampled_from(["max", "avg"]), "mode")
    try:
        geo = geometry.pool(size, kernel, stride, padding)
    except PaddingError:
        assume(False)
        return
    x = np.random.default_rng(3).standard_normal((2, 2, *size))
    got = pool(x, kernel, stride, padding, mode)
    cfg = (size, kernel, stride, padding, mode)
    if mode == "max":
        xp = F.pad(torch.from_numpy(x), torch_pad(geo.pads), value=-np.inf)
        want = torch_op("max_pool", nd)(xp, kernel, stride).numpy()
        check(got, want, cfg)
        return
    spec = geometry.Padding.parse(padding, nd)
    if all(isinstance(a, str) for a in spec.axes):  # default: conventions exclude padded cells
        check(got, sum_over_count(x, geo, include_pad=False), cfg)
    check(pool(x, kernel, stride, padding, mode, count_include_pad=True),
          sum_over_count(x, geo, include_pad=True), (*cfg, "include"))


def _ort_pool(x: np.ndarray, op: str, kernel: list[int], stride: list[int], auto_pad: str) -> np.ndarray:
    import onnxruntime as ort
    from onnx import TensorProto, helper

    node = helper.make_node(op, ["x"], ["y"], kernel_shape=kernel, strides=stride, auto_pad=auto_pad,
                            **({"count_include_pad": 0} if op == "AveragePool" else {}))
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


@oracle_settings(10)
@given(st.data())
def test_same_pooling_matches_onnxruntime(data: st.DataObject) -> None:
    """onnxruntime's SAME_UPPER / SAME_LOWER pooling (TF's divisor rule) is a second oracle."""
    nd = data.draw(st.integers(1, 3), "nd")
    size = data.draw(st.lists(st.integers(2, 8), min_size=nd, max_size=nd), "size")
    kernel = data.draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd), "kernel")
    stride = data.draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd), "stride")
    name = data.draw(st.sampled_from(["same", "same_lower"]), "padding")
    mode = data.draw(st.sampled_from(["max", "avg"]), "mode")
    # onnxruntime computes a negative SAME pad when kernel < stride and then rejects it: not compared
    assume(all(k >= s for k, s in zip(kernel, stride, strict=True)))
    x = np.random.default_rng(5).standard_normal((1, 2, *size)).astype(np.float32)  # ort: no float64 pool
    want = _ort_pool(x, "MaxPool" if mode == "max" else "AveragePool", kernel, stride,
                     "SAME_UPPER" if name == "same" else "SAME_LOWER")
    got = pool(x, kernel, stride, name, mode)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=str((size, kernel, stride, name, mode)))


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8])
def test_pool_dtypes(dtype: type) -> None:
    x = np.arange(50, dtype=dtype).reshape(1, 2, 5, 5)
    got = pool(x, 2, padding=1, mode="max")
    assert got.dtype == dtype and got.shape == (1, 2, 3, 3) and got[0, 0, 0, 0] == 0
    avg = pool(x, 2, mode="avg")
    assert avg.dtype == (np.float32 if dtype == np.float32 else np.float64)
    assert avg[0, 0, 0, 0] == 3


def test_pool_errors_are_clear() -> None:
    with pytest.raises(PaddingError, match="unknown pooling mode"):
        pool(np.ones((1, 1, 5, 5)), 2, mode="min")


@oracle_settings(40)
@given(st.data())
def test_long_kernels_match_torch(data: st.DataObject) -> None:
    """Kernels longer than WINDOW_TAPS along the last axis (reduced over a window view), both
    layouts, max with dilation, avg with and without padded cells counted; global pools."""
    from padstride.engine.pooling import WINDOW_TAPS

    nd = data.draw(st.integers(1, 2), "nd")
    mode = data.draw(st.sampled_from(["max", "avg"]), "mode")
    lead = draw_axes(data, nd - 1, 1, 3, "lead kernel")
    k = data.draw(st.integers(WINDOW_TAPS + 1, 40), "last kernel")
    kernel = (*lead, k)
    n = data.draw(st.integers(k, 60), "last size")
    size = (*(kk + 2 for kk in lead), n)
    stride = draw_axes(data, nd, 1, 5, "stride")
    dil = (*((1,) * (nd - 1)), data.draw(st.integers(1, 2), "dilation"))
    assume(dil[-1] * (k - 1) + 1 <= n)
    pads = tuple(data.draw(st.integers(0, kk // 2), f"pad{i}") for i, kk in enumerate(kernel))
    ceil = data.draw(st.booleans(), "ceil_mode")
    include = data.draw(st.booleans(), "count_include_pad")
    x = np.random.default_rng(7).standard_normal((2, 3, *size))
    if mode == "max":
        want = torch_op("max_pool", nd)(torch.from_numpy(x), kernel, stride, pads, dil, ceil).numpy()
    else:
        want = dilated_avg_pool(x, kernel, stride, pads, dil, ceil, include)
    kw = {} if mode == "max" else {"count_include_pad": include}
    cfg = (mode, size, kernel, stride, dil, pads, ceil, include)
    check(pool(x, kernel, stride, list(pads), mode, ceil, dilation=dil, **kw), want, cfg)
    got_last = pool(np.moveaxis(x, 1, -1), kernel, stride, list(pads), mode, ceil, dilation=dil,
                    layout="channels_last", **kw)
    check(np.moveaxis(got_last, -1, 1), want, (*cfg, "channels_last"))


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_global_pool_matches_numpy(mode: str) -> None:
    x = np.random.default_rng(1).standard_normal((2, 3, 40, 50))
    got = pool(x, (40, 50), mode=mode)
    want = x.max(axis=(2, 3), keepdims=True) if mode == "max" else x.mean(axis=(2, 3), keepdims=True)
    check(got, want, mode)


@oracle_settings(60)
@given(st.data())
def test_kernels_larger_than_the_input_match_torch(data: st.DataObject) -> None:
    """More taps than input cells (computed per input cell, nothing padded): ONNX-style pads
    (< kernel) around a small input, dilation, both layouts, integer max pooling."""
    nd = data.draw(st.integers(1, 3), "nd")
    size = draw_axes(data, nd, 1, 3, "size")
    kernel = draw_axes(data, nd, 3, 6, "kernel")
    stride = draw_axes(data, nd, 1, 3, "stride")
    dil = draw_axes(data, nd, 1, 2, "dilation")
    pads = [data.draw(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), f"pad{i}") for i, k in enumerate(kernel)]
    mode = data.draw(st.sampled_from(["max", "avg"]), "mode")
    include = data.draw(st.booleans(), "count_include_pad")
    try:
        geo = geometry.pool(size, kernel, stride, pads, dil)
    except PaddingError:
        assume(False)
        return
    assume(np.prod(size) < np.prod(kernel))
    x = np.random.default_rng(11).standard_normal((2, 3, *size))
    t = torch.from_numpy(x)
    cfg = (size, kernel, stride, dil, pads, mode, include)
    if mode == "max":
        want = torch_op("max_pool", nd)(F.pad(t, torch_pad(geo.pads), value=-np.inf), kernel, stride, 0,
                                        dil).numpy()
        got = pool(x, kernel, stride, pads, "max", dilation=dil)
        check(got, want, cfg)
        xi = (x * 100).astype(np.int32)  # integers: a window of pure padding gives the dtype's minimum
        want_i = torch_op("max_pool", nd)(F.pad(torch.from_numpy(xi.astype(np.float64)), torch_pad(geo.pads),
                                                value=-np.inf), kernel, stride, 0, dil).numpy()
        want_i = np.where(np.isinf(want_i), np.iinfo(np.int32).min, want_i)
        got_i = pool(xi, kernel, stride, pads, "max", dilation=dil)
        assert got_i.dtype == np.int32
        check(got_i.astype(np.float64), want_i, (*cfg, "int32"))
    else:
        got = pool(x, kernel, stride, pads, "avg", count_include_pad=include, dilation=dil)
        sums = torch_op("conv", nd)(F.pad(t.reshape(6, 1, *size), torch_pad(geo.pads)),
                                    torch.ones((1, 1, *kernel), dtype=torch.float64), None, stride, 0, dil)
        counts = np.ones(())
        for a in geo:
            counts = np.multiply.outer(counts, np.asarray(geometry.avg_divisors(a, include), np.float64))
        with np.errstate(invalid="ignore", divide="ignore"):
            want = sums.reshape(2, 3, *geo.output).numpy() / counts
        check(got, want, cfg)
    got_last = pool(np.moveaxis(x, 1, -1), kernel, stride, pads, mode, dilation=dil, layout="channels_last",
                    **({} if mode == "max" else {"count_include_pad": include}))
    check(np.moveaxis(got_last, -1, 1), got, (*cfg, "channels_last"))
