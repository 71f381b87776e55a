"""padstride.geometry against onnxruntime running single-node models built with ``onnx.helper``.

Each model has dynamic spatial sizes, so one cached session serves several input sizes.
Findings pinned here (onnxruntime 1.32; see docs/conventions.md, "Framework disagreements"):
ceil_mode follows PyTorch's rule at every opset (the ONNX text before opset 22 does not drop the
last window); Conv refuses dilation with SAME_*; MaxPool with SAME_* and dilation computes the
pads from the undilated kernel; SAME_* pooling refuses a negative total pad (kernel < stride);
ConvTranspose clamps its crop at 0 and needs output_padding < stride.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from padstride.geometry import (
    PaddingError,
    avg_divisors,
    conv,
    conv_transpose,
    effective_kernel,
    pool,
    pool_axis,
    pool_output_size,
    resolve_axis,
)

from ._oracle import (
    conv_ref_1d,
    ones_conv_expected,
    ones_transpose_expected,
    oracle_settings,
    ort_run,
    outer,
    ramp,
    ramp_max_expected,
    transpose_ref_1d,
)

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

CONVENTION = {"VALID": "valid", "SAME_UPPER": "same", "SAME_LOWER": "same_lower"}


def _x(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)[None, None]


def _c_windows(n: int, k: int, s: int, d: int, pads: tuple[int, int]) -> int:
    """onnxruntime's pool output length: C++ division truncates toward zero."""
    return int((n + pads[0] + pads[1] - effective_kernel(k, d)) / s) + 1


def _pool_refusal(run: object, c: dict[str, tuple[int, ...]], shape: tuple[int, ...],
                  pads: tuple[tuple[int, int], ...], ceil_mode: bool = False) -> None:
    """Where padstride raises (the window spans more than the padded input), onnxruntime's
    pools compute ``trunc((n + pads − K) / s) + 1`` windows: an error when that is negative,
    an empty axis at 0, and one overhanging window when the shortfall is below the stride."""
    counts = []
    for n, k, s, d, p in zip(shape, c["k"], c["s"], c["d"], pads, strict=True):
        try:  # the axes that fit follow the geometry (ceil_mode included)
            counts.append(pool_axis(n, k, s, p, d, ceil_mode=ceil_mode).output)
        except PaddingError:
            counts.append(_c_windows(n, k, s, d, p))
    if min(counts) < 0:
        with pytest.raises(Exception, match="negative"):
            run()  # type: ignore[operator]
        return
    y = run()  # type: ignore[operator]
    assert y.shape[2:] == tuple(counts), f"{c} {shape} {pads}: onnxruntime {y.shape} vs {counts}"


def _shapes(base: tuple[int, ...], count: int) -> list[tuple[int, ...]]:
    """``count`` input shapes from ``base``: every axis one longer each time (one session)."""
    return [tuple(n + i for n in base) for i in range(count)]


@st.composite
def window(draw: st.DrawFn, nd: int, k_max: int = 5, s_max: int = 3, d_max: int = 2,
           n_max: int = 10) -> dict[str, tuple[int, ...]]:
    pick = {"n": (1, n_max), "k": (1, k_max), "s": (1, s_max), "d": (1, d_max)}
    return {name: tuple(draw(st.integers(*rng)) for _ in range(nd)) for name, rng in pick.items()}


# --- Conv ----------------------------------------------------------------------------------

@oracle_settings(200)
@given(nd=st.integers(1, 3), data=st.data(),
       auto_pad=st.sampled_from(["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"]))
def test_conv_auto_pad_and_pads_match_onnxruntime(nd: int, data: st.DataObject, auto_pad: str,
                                                  oracle_count: Counter[str]) -> None:
    """Conv: VALID/SAME_UPPER/SAME_LOWER/NOTSET+pads with strides (and dilation where allowed)."""
    c = data.draw(window(nd, n_max=8 if nd < 3 else 5,
                         d_max=1 if auto_pad.startswith("SAME") else 2), label="window")
    pads = tuple(tuple(data.draw(st.integers(0, 3)) for _ in range(2)) for _ in range(nd))
    attrs = dict(kernel_shape=list(c["k"]), strides=list(c["s"]), dilations=list(c["d"]),
                 auto_pad=auto_pad)
    if auto_pad == "NOTSET":
        attrs["pads"] = [b for b, _ in pads] + [a for _, a in pads]
    spec = pads if auto_pad == "NOTSET" else CONVENTION[auto_pad]
    w = np.ones(c["k"])
    rng = np.random.default_rng(sum(c["n"]) * 31 + sum(c["k"]))
    for shape in _shapes(c["n"], 3):
        oracle_count["onnxruntime"] += 1
        cfg = {**c, "n": shape, "auto_pad": auto_pad, "pads": pads}
        try:
            geom = conv(shape, c["k"], c["s"], spec, c["d"])
        except PaddingError:
            with pytest.raises(Exception, match=r"Invalid input shape|negative"):
                ort_run("Conv", _x(np.ones(shape)), _x(w), **attrs)
            continue
        if nd == 1:  # random values: every output is the geometry's taps, nothing else
            x, wr = rng.standard_normal(shape[0]), rng.standard_normal(c["k"][0])
            y = ort_run("Conv", _x(x), _x(wr), **attrs)[0, 0]
            np.testing.assert_allclose(y, conv_ref_1d(x, wr, geom.axes[0]), atol=1e-4,
                                       err_msg=str(cfg))
        else:
            y = ort_run("Conv", _x(np.ones(shape)), _x(w), **attrs)[0, 0]
            assert y.shape == geom.output, f"{cfg}: onnxruntime {y.shape} vs {geom.output}"
            np.testing.assert_allclose(y, ones_conv_expected(geom), err_msg=str(cfg))


@oracle_settings(40)
@given(c=window(1, d_max=1), d=st.integers(2, 3), auto_pad=st.sampled_from(["SAME_UPPER", "SAME_LOWER"]))
def test_onnxruntime_conv_refuses_dilation_with_same(c: dict[str, tuple[int, ...]], d: int,
                                                     auto_pad: str, oracle_count: Counter[str]) -> None:
    """onnxruntime Conv: dilation > 1 with SAME_* is refused (the ONNX text allows it)."""
    oracle_count["onnxruntime"] += 1
    with pytest.raises(Exception, match="Dilation not supported for AutoPadType::SAME"):
        ort_run("Conv", _x(np.ones(c["n"])), _x(np.ones(c["k"])), kernel_shape=list(c["k"]),
                strides=list(c["s"]), dilations=[d], auto_pad=auto_pad)
    conv(c["n"], c["k"], c["s"], CONVENTION[auto_pad], d)  # padstride answers it: explicit pads


# --- MaxPool / AveragePool -----------------------------------------------------------------

@oracle_settings(200)
@given(nd=st.integers(1, 3), data=st.data(), ceil_mode=st.booleans(),
       opset=st.sampled_from([10, 12, 19, 22]))
def test_maxpool_pads_ceil_mode_dilation_match_onnxruntime(
        nd: int, data: st.DataObject, ceil_mode: bool, opset: int,
        oracle_count: Counter[str]) -> None:
    """MaxPool with explicit pads (< kernel), dilation, ceil_mode: PyTorch's rule at every opset."""
    c = data.draw(window(nd, n_max=9 if nd < 3 else 5, d_max=2 if opset >= 10 else 1))
    pads = tuple((data.draw(st.integers(0, k - 1)), data.draw(st.integers(0, k - 1)))
                 for k in c["k"])
    attrs = dict(kernel_shape=list(c["k"]), strides=list(c["s"]), dilations=list(c["d"]),
                 pads=[b for b, _ in pads] + [a for _, a in pads], ceil_mode=int(ceil_mode))
    for shape in _shapes(c["n"], 3):
        oracle_count["onnxruntime"] += 1
        cfg = {**c, "n": shape, "pads": pads, "ceil_mode": ceil_mode, "opset": opset}
        try:
            geom = pool(shape, c["k"], c["s"], pads, c["d"], ceil_mode=ceil_mode, rule="torch")
        except PaddingError:
            _pool_refusal(lambda shape=shape: ort_run("MaxPool", _x(ramp(shape)), opset=opset, **attrs),
                          c, shape, pads, ceil_mode)
            continue
        y = ort_run("MaxPool", _x(ramp(shape)), opset=opset, **attrs)[0, 0]
        assert y.shape == geom.output, f"{cfg}: onnxruntime {y.shape} vs geometry {geom.output}"
        expected = ramp_max_expected(geom)
        real = np.isfinite(expected)
        np.testing.assert_allclose(y[real], expected[real], err_msg=str(cfg))
        # a window of pure padding: PyTorch gives −inf, onnxruntime the lowest float32
        assert (y[~real] == np.finfo(np.float32).min).all(), cfg


@oracle_settings(200)
@given(nd=st.integers(1, 3), data=st.data(), ceil_mode=st.booleans(),
       count_include_pad=st.booleans(),
       auto_pad=st.sampled_from(["NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
def test_averagepool_divisors_match_onnxruntime(nd: int, data: st.DataObject, ceil_mode: bool,
                                                count_include_pad: bool, auto_pad: str,
                                                oracle_count: Counter[str]) -> None:
    """AveragePool of ones × the geometry's divisor = real cells (ceil_mode, count_include_pad)."""
    c = data.draw(window(nd, n_max=9 if nd < 3 else 5, d_max=1))
    pads = tuple((data.draw(st.integers(0, k - 1)), data.draw(st.integers(0, k - 1)))
                 for k in c["k"])
    attrs = dict(kernel_shape=list(c["k"]), strides=list(c["s"]), auto_pad=auto_pad,
                 ceil_mode=int(ceil_mode), count_include_pad=int(count_include_pad))
    if auto_pad == "NOTSET":
        attrs["pads"] = [b for b, _ in pads] + [a for _, a in pads]
    spec = pads if auto_pad == "NOTSET" else CONVENTION[auto_pad]
    for shape in _shapes(c["n"], 3):
        oracle_count["onnxruntime"] += 1
        cfg = {**c, "n": shape, "auto_pad": auto_pad, "pads": pads, "ceil_mode": ceil_mode,
               "count_include_pad": count_include_pad}
        if auto_pad.startswith("SAME") and any(
                (-(-n // s) - 1) * s + k - n < 0 for n, k, s in zip(shape, c["k"], c["s"], strict=True)):
            continue  # pinned in test_onnxruntime_same_pool_refuses_negative_total_pad
        try:
            geom = pool(shape, c["k"], c["s"], spec, ceil_mode=ceil_mode, rule="torch")
        except PaddingError:
            if auto_pad in ("NOTSET", "VALID"):
                _pool_refusal(lambda shape=shape: ort_run("AveragePool", _x(np.ones(shape)), **attrs), c, shape,
                              pads if auto_pad == "NOTSET" else ((0, 0),) * nd, ceil_mode)
            continue
        y = ort_run("AveragePool", _x(np.ones(shape)), **attrs)[0, 0]
        assert y.shape == geom.output, f"{cfg}: onnxruntime {y.shape} vs geometry {geom.output}"
        divisors = outer([avg_divisors(a, count_include_pad) for a in geom.axes])
        real = outer([[a.real_cells(j) for j in range(a.output)] for a in geom.axes])
        np.testing.assert_allclose(y * divisors, real, rtol=1e-5, err_msg=str(cfg))


@oracle_settings(120)
@given(nd=st.integers(1, 3), data=st.data(), ceil_mode=st.booleans(), count_include_pad=st.booleans())
def test_dilated_averagepool_divisors_match_onnxruntime(nd: int, data: st.DataObject, ceil_mode: bool,
                                                       count_include_pad: bool,
                                                       oracle_count: Counter[str]) -> None:
    """AveragePool with dilations (opset 19): only the window's taps count in the divisor; the
    'onnx' ceil_mode rule gives onnxruntime's sizes."""
    c = data.draw(window(nd, n_max=9 if nd < 3 else 5, d_max=3))
    pads = tuple((data.draw(st.integers(0, k - 1)), data.draw(st.integers(0, k - 1))) for k in c["k"])
    attrs = dict(kernel_shape=list(c["k"]), strides=list(c["s"]), dilations=list(c["d"]),
                 ceil_mode=int(ceil_mode), count_include_pad=int(count_include_pad),
                 pads=[b for b, _ in pads] + [a for _, a in pads])
    for shape in _shapes(c["n"], 3):
        cfg = {**c, "n": shape, "pads": pads, "ceil_mode": ceil_mode, "count_include_pad": count_include_pad}
        try:
            geom = pool(shape, c["k"], c["s"], pads, c["d"], ceil_mode, rule="onnx")
        except PaddingError:
            continue  # windows longer than the padded input: pinned in the tests above
        oracle_count["onnxruntime"] += 1
        y = ort_run("AveragePool", _x(np.ones(shape)), **attrs)[0, 0]
        assert y.shape == geom.output, f"{cfg}: onnxruntime {y.shape} vs geometry {geom.output}"
        divisors = outer([avg_divisors(a, count_include_pad) for a in geom.axes])
        real = outer([[a.real_cells(j) for j in range(a.output)] for a in geom.axes])
        seen = divisors > 0  # a window of pure padding, not counted: 0/0 in both
        np.testing.assert_allclose((y * divisors)[seen], real[seen], rtol=1e-5, err_msg=str(cfg))


@oracle_settings(60)
@given(n=st.integers(1, 12), k=st.integers(1, 3), s=st.integers(2, 4),
       auto_pad=st.sampled_from(["SAME_UPPER", "SAME_LOWER"]))
def test_onnxruntime_same_pool_with_negative_total_pad(n: int, k: int, s: int, auto_pad: str,
                                                       oracle_count: Counter[str]) -> None:
    """SAME_* pooling where (ceil(n/s)−1)·s + k < n: the ONNX formula gives a negative total pad.
    TF (and padstride's 'same') clamp it at 0. onnxruntime's MaxPool refuses; its AveragePool
    uses it as a crop: before = trunc(total/2) (SAME_UPPER) or trunc((total+1)/2) (SAME_LOWER)."""
    total = (-(-n // s) - 1) * s + k - n
    oracle_count["onnxruntime"] += 1
    name = CONVENTION[auto_pad]
    x = _x(ramp((n,)))
    attrs = dict(kernel_shape=[k], strides=[s], auto_pad=auto_pad)
    if total >= 0:
        y = ort_run("MaxPool", x, **attrs)
        assert y.shape[-1] == pool(n, k, s, name).output[0]
        return
    with pytest.raises(Exception, match="padding values must be non-negative"):
        ort_run("MaxPool", x, **attrs)
    before = int(total / 2) if name == "same" else int((total + 1) / 2)  # C++ division
    crop = (before, total - before)
    geom = pool(n, k, s, crop)
    y = ort_run("AveragePool", x, **attrs)[0, 0]
    cfg = dict(n=n, k=k, s=s, auto_pad=auto_pad, total=total)
    assert y.shape == geom.output == pool(n, k, s, name).output, cfg
    sums = [sum(ramp((n,))[i] for i in a) / len(a) for a in
            ([i for i in geom.axes[0].taps(j) if 0 <= i < n] for j in range(geom.output[0]))]
    np.testing.assert_allclose(y, sums, err_msg=str(cfg))
    assert pool(n, k, s, name).pads == ((0, 0),)  # TF's clamp
    if crop[0] < 0:  # the windows really move: the first one starts −crop[0] pixels in
        assert y[0] != ramp((n,))[0], cfg


@oracle_settings(60)
@given(c=window(1, n_max=9, s_max=2), d=st.integers(2, 3),
       auto_pad=st.sampled_from(["SAME_UPPER", "SAME_LOWER"]))
def test_onnxruntime_maxpool_same_with_dilation_uses_undilated_pads(
        c: dict[str, tuple[int, ...]], d: int, auto_pad: str, oracle_count: Counter[str]) -> None:
    """Known oracle fault: MaxPool SAME_* with dilation pads as if the kernel were undilated.

    onnxruntime's output equals explicit pads ``resolve_axis(n, k, s, 1, SAME)`` with dilated
    windows; TF's rule (padstride's 'same') pads for the dilated span.
    """
    (n,), (k,), (s,) = c["n"], c["k"], c["s"]
    oracle_count["onnxruntime"] += 1
    attrs = dict(kernel_shape=[k], strides=[s], dilations=[d], auto_pad=auto_pad)
    name = CONVENTION[auto_pad]
    undilated = resolve_axis(n, k, s, 1, name)
    try:
        geom = pool(n, k, s, undilated, d)
    except PaddingError:
        _pool_refusal(lambda: ort_run("MaxPool", _x(ramp((n,))), **attrs),
                      {"k": (k,), "s": (s,), "d": (d,)}, (n,), (undilated,))
        return
    if min(undilated) < 0:
        return
    y = ort_run("MaxPool", _x(ramp((n,))), **attrs)[0, 0]
    expected = ramp_max_expected(geom)
    cfg = dict(n=n, k=k, s=s, d=d, auto_pad=auto_pad)
    assert y.shape == geom.output, cfg
    np.testing.assert_allclose(y[np.isfinite(expected)], expected[np.isfinite(expected)],
                               err_msg=str(cfg))


def test_onnxruntime_maxpool_same_dilation_fault_example(oracle_count: Counter[str]) -> None:
    """The fault on one configuration: n=5, k=3, s=1, d=2, SAME_UPPER."""
    oracle_count["onnxruntime"] += 1
    y = ort_run("MaxPool", _x(ramp((5,))), kernel_shape=[3], strides=[1], dilations=[2],
                auto_pad="SAME_UPPER")[0, 0]
    tf_rule = pool(5, 3, 1, "same", 2)
    assert tf_rule.output == (5,) and tf_rule.pads == ((2, 2),)
    assert y.shape == (3,)  # pads (1, 1) from the undilated kernel: 5 + 2 − 5 + 1 = 3 outputs


@oracle_settings(120)
@given(n=st.integers(1, 10), k=st.integers(1, 4), s=st.integers(1, 4), data=st.data(),
       opset=st.sampled_from([10, 12, 19, 21, 22]))
def test_onnxruntime_ceil_mode_rule_is_torch_at_every_opset(
        n: int, k: int, s: int, data: st.DataObject, opset: int,
        oracle_count: Counter[str]) -> None:
    """ceil_mode: onnxruntime 1.32 drops a last window starting in the right padding (rules
    'torch' and 'onnx') even at opsets 10–21, whose text is plain ceil (rule 'plain')."""
    b, a = data.draw(st.integers(0, k - 1)), data.draw(st.integers(0, k - 1))
    oracle_count["onnxruntime"] += 1
    if n + b + a < k:
        return
    y = ort_run("MaxPool", _x(np.ones(n)), opset=opset, kernel_shape=[k], strides=[s],
                pads=[b, a], ceil_mode=1)
    torch_rule = pool_output_size(n, k, s, b, a, ceil_mode=True, rule="torch")
    onnx_rule = pool_output_size(n, k, s, b, a, ceil_mode=True, rule="onnx")
    assert y.shape[-1] == torch_rule == onnx_rule, dict(n=n, k=k, s=s, pads=(b, a), opset=opset)


def test_onnx_text_rule_differs_from_onnxruntime(oracle_count: Counter[str]) -> None:
    """The pinned disagreement: n=2, k=1, s=2, ceil_mode — the ONNX text (opset ≤ 21, rule
    'plain', also OpenVINO's rounding_type='ceil') says 2; onnxruntime and ONNX's own conformance
    case test_maxpool_2d_ceil_output_size_reduce_by_one say 1 (rule 'onnx')."""
    oracle_count["onnxruntime"] += 1
    y = ort_run("MaxPool", _x(np.ones(2)), opset=19, kernel_shape=[1], strides=[2], ceil_mode=1)
    assert y.shape[-1] == pool_output_size(2, 1, 2, 0, 0, True, "torch") == 1
    assert pool_output_size(2, 1, 2, 0, 0, True, "onnx") == 1
    assert pool_output_size(2, 1, 2, 0, 0, True, "plain") == 2


@oracle_settings(40)
@given(k=st.integers(1, 4), extra=st.integers(0, 2), op=st.sampled_from(["MaxPool", "AveragePool"]))
def test_onnxruntime_refuses_pool_pads_not_below_kernel(k: int, extra: int, op: str,
                                                        oracle_count: Counter[str]) -> None:
    """onnxruntime pins: pool pads must be < kernel_shape (PyTorch: ≤ kernel // 2)."""
    oracle_count["onnxruntime"] += 1
    with pytest.raises(Exception, match="Pad should be smaller than kernel"):
        ort_run(op, _x(np.ones(12)), kernel_shape=[k], pads=[k + extra, 0])
    geom = pool(12, k, 1, (k + extra, 0))  # padstride describes it: the first windows read no input
    assert geom.output == (12 + extra + 1,) and geom.axes[0].real_cells(0) == 0


# --- ConvTranspose -------------------------------------------------------------------------

@oracle_settings(250)
@given(nd=st.integers(1, 2), data=st.data(),
       auto_pad=st.sampled_from(["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"]),
       with_shape=st.booleans())
def test_conv_transpose_matches_onnxruntime(nd: int, data: st.DataObject, auto_pad: str,
                                            with_shape: bool, oracle_count: Counter[str]) -> None:
    """ConvTranspose: pads, output_padding, dilation, auto_pad and output_shape (rule 'onnxruntime');
    the ONNX text (rule 'onnx') agrees wherever the crop is not negative."""
    c = data.draw(window(nd, n_max=6, k_max=4))
    op = tuple(data.draw(st.integers(0, s - 1)) for s in c["s"])
    pads = tuple((data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in range(nd))
    spans = [effective_kernel(k, d) for k, d in zip(c["k"], c["d"], strict=True)]
    shift = tuple(data.draw(st.integers(-2, 2)) for _ in range(nd)) if with_shape else None
    spec = pads if auto_pad == "NOTSET" else CONVENTION.get(auto_pad, "valid")
    rng = np.random.default_rng(sum(c["n"]) * 7 + sum(c["k"]))
    for shape in _shapes(c["n"], 2):
        size = None
        if shift is not None:
            base = [(n * s if auto_pad.startswith("SAME") else (n - 1) * s + K + o)
                    for n, s, K, o in zip(shape, c["s"], spans, op, strict=True)]
            size = tuple(max(b + sh, 1) for b, sh in zip(base, shift, strict=True))
        attrs = dict(kernel_shape=list(c["k"]), strides=list(c["s"]), dilations=list(c["d"]),
                     output_padding=list(op), auto_pad=auto_pad)
        if auto_pad == "NOTSET":
            attrs["pads"] = [b for b, _ in pads] + [a for _, a in pads]
        if size is not None:
            attrs["output_shape"] = list(size)
        cfg = {**c, "n": shape, "auto_pad": auto_pad, "pads": pads, "output_padding": op,
               "output_shape": size}
        oracle_count["onnxruntime"] += 1
        try:
            geom = conv_transpose(shape, c["k"], c["s"], spec, op, c["d"], rule="onnxruntime",
                                  output_size=size)
        except PaddingError as err:
            with pytest.raises(Exception, match=r"Expected input size|Invalid|output"):
                ort_run("ConvTranspose", _x(np.ones(shape)), _x(np.ones(c["k"])), **attrs)
            assert "axis" in str(err), cfg
            continue
        if nd == 1:
            x, w = rng.standard_normal(shape[0]), rng.standard_normal(c["k"][0])
            y = ort_run("ConvTranspose", _x(x), _x(w), **attrs)[0, 0]
            assert y.shape == geom.output, f"{cfg}: onnxruntime {y.shape} vs {geom.output}"
            np.testing.assert_allclose(y, transpose_ref_1d(x, w, geom.axes[0]), atol=1e-4,
                                       err_msg=str(cfg))
        else:
            y = ort_run("ConvTranspose", _x(np.ones(shape)), _x(np.ones(c["k"])), **attrs)[0, 0]
            assert y.shape == geom.output, f"{cfg}: onnxruntime {y.shape} vs {geom.output}"
            np.testing.assert_allclose(y, ones_transpose_expected(geom), err_msg=str(cfg))
        spec_rule = conv_transpose(shape, c["k"], c["s"], spec, op, c["d"], rule="onnx",
                                   output_size=size)
        if all(a.pad_before >= 0 and a.pad_after + o >= 0 for a, o in zip(spec_rule.axes, op, strict=True)):
            assert spec_rule.pads == geom.pads, f"{cfg}: ONNX text {spec_rule.pads} vs {geom.pads}"


@oracle_settings(200)
@given(n=st.integers(1, 6), k=st.integers(2, 5), s=st.integers(1, 3), d=st.integers(1, 2),
       crop=st.sampled_from([1, 3, 5, 2, 4, 0, -1]), op=st.integers(0, 2),
       auto_pad=st.sampled_from(["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"]))
def test_conv_transpose_output_shape_split_matches_onnxruntime(
        n: int, k: int, s: int, d: int, crop: int, op: int, auto_pad: str,
        oracle_count: Counter[str]) -> None:
    """output_shape = full + output_padding − crop: the odd pixel of the crop goes at the end for
    SAME_UPPER and at the start for everything else (ONNX text and onnxruntime agree)."""
    op = min(op, s - 1)
    full = (n - 1) * s + effective_kernel(k, d)
    size = full + op - crop
    if size < 1:
        return
    oracle_count["onnxruntime"] += 1
    spec = ((0, 0),) if auto_pad == "NOTSET" else CONVENTION[auto_pad]
    attrs = dict(kernel_shape=[k], strides=[s], dilations=[d], output_padding=[op],
                 auto_pad=auto_pad, output_shape=[size])
    if auto_pad == "NOTSET":
        attrs["pads"] = [0, 0]
    rng = np.random.default_rng(n + 10 * k + 100 * s + 1000 * (crop + 2))
    x, w = rng.standard_normal(n), rng.standard_normal(k)
    cfg = dict(n=n, k=k, s=s, d=d, op=op, auto_pad=auto_pad, output_shape=size)
    try:
        ax = conv_transpose(n, k, s, spec, op, d, rule="onnxruntime", output_size=size).axes[0]
    except PaddingError:
        with pytest.raises(Exception, match="Expected input size"):
            ort_run("ConvTranspose", _x(x), _x(w), **attrs)
        return
    y = ort_run("ConvTranspose", _x(x), _x(w), **attrs)[0, 0]
    np.testing.assert_allclose(y, transpose_ref_1d(x, w, ax), atol=1e-4, err_msg=str(cfg))
    if crop > 0:
        big_first = auto_pad != "SAME_UPPER"
        assert ax.pad_before == (crop - crop // 2 if big_first else crop // 2), cfg
        text = conv_transpose(n, k, s, spec, op, d, rule="onnx", output_size=size).axes[0]
        assert text.pads == ax.pads, cfg


@oracle_settings(60)
@given(n=st.integers(1, 6), k=st.integers(1, 2), s=st.integers(2, 4), op=st.integers(0, 3),
       auto_pad=st.sampled_from(["SAME_UPPER", "SAME_LOWER"]))
def test_onnxruntime_same_conv_transpose_clamps_short_kernel(n: int, k: int, s: int, op: int,
                                                             auto_pad: str,
                                                             oracle_count: Counter[str]) -> None:
    """Disagreement with the ONNX text: SAME_* should give n·s; with K + output_padding < s
    onnxruntime gives the uncropped (n−1)·s + K + output_padding instead."""
    op = min(op, s - 1)
    oracle_count["onnxruntime"] += 1
    y = ort_run("ConvTranspose", _x(np.ones(n)), _x(np.ones(k)), kernel_shape=[k], strides=[s],
                output_padding=[op], auto_pad=auto_pad)
    ort_rule = conv_transpose(n, k, s, CONVENTION[auto_pad], op, rule="onnxruntime").output[0]
    onnx_text = conv_transpose(n, k, s, CONVENTION[auto_pad], op, rule="onnx").output[0]
    cfg = dict(n=n, k=k, s=s, op=op, auto_pad=auto_pad)
    assert y.shape[-1] == ort_rule == min(n * s, (n - 1) * s + k + op), cfg
    assert onnx_text == n * s, cfg
    assert (ort_rule != onnx_text) == (k + op < s), cfg


@oracle_settings(40)
@given(n=st.integers(1, 5), k=st.integers(1, 3), s=st.integers(1, 2), d=st.integers(2, 3))
def test_onnxruntime_conv_transpose_output_padding_below_stride(n: int, k: int, s: int, d: int,
                                                                oracle_count: Counter[str]) -> None:
    """output_padding in [stride, dilation): PyTorch and padstride's 'onnx' rule accept it,
    onnxruntime refuses (rule 'onnxruntime' too)."""
    op = s  # ≥ stride, < max(stride, dilation) because d > s
    if op >= d:
        return
    oracle_count["onnxruntime"] += 1
    with pytest.raises(Exception, match=r"output_padding|too large"):
        ort_run("ConvTranspose", _x(np.ones(n)), _x(np.ones(k)), kernel_shape=[k], strides=[s],
                dilations=[d], output_padding=[op])
    with pytest.raises(PaddingError, match="onnxruntime"):
        conv_transpose(n, k, s, 0, op, d, rule="onnxruntime")
    assert conv_transpose(n, k, s, 0, op, d, rule="onnx").axes[0].pad_after == -op


@oracle_settings(30)
@given(n=st.integers(1, 8), s=st.integers(1, 3))
def test_max_pool_window_of_pure_padding(n: int, s: int, oracle_count: Counter[str]) -> None:
    """k=2, pads (1, 1), dilation n+1: window 0 taps −1 and n, both padding. padstride describes
    it (no real cell); PyTorch's max is −inf, onnxruntime's the lowest float32."""
    torch = pytest.importorskip("torch")
    d = n + 1
    oracle_count["onnxruntime"] += 1
    oracle_count["torch"] += 1
    ax = pool(n, 2, s, 1, d).axes[0]
    assert ax.real_cells(0) == 0
    y = ort_run("MaxPool", _x(ramp((n,))), kernel_shape=[2], strides=[s], pads=[1, 1],
                dilations=[d])[0, 0]
    t = torch.nn.functional.max_pool1d(torch.from_numpy(ramp((n,)))[None, None], 2, s, 1, d)[0, 0]
    cfg = dict(n=n, k=2, s=s, d=d, pads=(1, 1))
    assert y.shape == tuple(t.shape) == (ax.output,), cfg
    assert y[0] == np.finfo(np.float32).min and float(t[0]) == -np.inf, cfg

