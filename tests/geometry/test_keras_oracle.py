"""padstride.geometry against Keras 3 on the torch backend (``KERAS_BACKEND=torch``).

One layer is built per configuration and called on several input sizes. Findings pinned here
(Keras 3.15.1; docs/conventions.md, "Framework disagreements"): SAME average pooling with
asymmetric pads uses replicate padding (TF's rule excludes the pads); Conv*Transpose follows JAX's
window ('keras_torch'), which differs from TF's rule only where TF refuses (same, even span,
output_padding=0), and returns an empty axis for n = 1 there; strides > 1 with dilation > 1 and
output_padding ≥ stride are refused.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from padstride.geometry import PaddingError, avg_divisors, conv, conv_transpose, pool

from ._oracle import (
    conv_ref_1d,
    ones_conv_expected,
    ones_transpose_expected,
    oracle_settings,
    outer,
    ramp,
    ramp_max_expected,
    transpose_ref_1d,
)

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":  # pragma: no cover
    pytest.skip("these oracles need KERAS_BACKEND=torch", allow_module_level=True)

L = keras.layers
CONV = {1: L.Conv1D, 2: L.Conv2D}
CONVT = {1: L.Conv1DTranspose, 2: L.Conv2DTranspose}
MAXPOOL = {1: L.MaxPooling1D, 2: L.MaxPooling2D}
AVGPOOL = {1: L.AveragePooling1D, 2: L.AveragePooling2D}


def _call(layer: Any, x: np.ndarray) -> np.ndarray:
    """Run a channels-last layer on one single-channel sample."""
    y = layer(np.asarray(x, dtype=np.float32)[None, ..., None])
    return np.asarray(keras.ops.convert_to_numpy(y))[0, ..., 0]


def _with_kernel(layer: Any, nd: int, w: np.ndarray) -> Any:
    layer.build((None,) + (None,) * nd + (1,))
    layer.set_weights([np.asarray(w, dtype=np.float32).reshape((*w.shape, 1, 1))])
    return layer


def _sizes(base: Sequence[int], count: int) -> list[tuple[int, ...]]:
    return [tuple(n + i for n in base) for i in range(count)]


# --- Conv ----------------------------------------------------------------------------------

@oracle_settings(50)
@given(k=st.integers(1, 5), s=st.integers(1, 3), d=st.integers(1, 3), n0=st.integers(1, 8))
def test_conv1d_causal_matches_keras(k: int, s: int, d: int, n0: int,
                                     oracle_count: Counter[str]) -> None:
    """Conv1D padding='causal' with stride or dilation: pads (K−1, 0)."""
    if s > 1 and d > 1:
        d = 1  # refused by Keras: pinned in test_keras_refuses_strides_with_dilation
    rng = np.random.default_rng(k + 10 * s + 100 * d + 1000 * n0)
    w = rng.standard_normal(k)
    layer = _with_kernel(L.Conv1D(1, k, s, "causal", dilation_rate=d, use_bias=False), 1, w)
    for (n,) in _sizes((n0,), 4):
        oracle_count["keras"] += 1
        x = rng.standard_normal(n)
        geom = conv(n, k, s, "causal", d)
        y = _call(layer, x)
        np.testing.assert_allclose(y, conv_ref_1d(x, w, geom.axes[0]), atol=1e-4,
                                   err_msg=str(dict(n=n, k=k, s=s, d=d, pads=geom.pads)))


@oracle_settings(80)
@given(nd=st.integers(1, 2), data=st.data(), padding=st.sampled_from(["same", "valid"]))
def test_conv_same_valid_strides_match_keras(nd: int, data: st.DataObject, padding: str,
                                             oracle_count: Counter[str]) -> None:
    """Conv1D/Conv2D 'same'/'valid' with per-axis strides, or dilation at stride 1."""
    k = tuple(data.draw(st.integers(1, 5)) for _ in range(nd))
    dilated = data.draw(st.booleans())
    s = (1,) * nd if dilated else tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(data.draw(st.integers(1, 3)) for _ in range(nd)) if dilated else (1,) * nd
    n0 = tuple(data.draw(st.integers(1, 10)) for _ in range(nd))
    rng = np.random.default_rng(sum(k) + 7 * sum(n0))
    w = rng.standard_normal(k) if nd == 1 else np.ones(k)
    layer = _with_kernel(CONV[nd](1, k, s, padding, dilation_rate=d, use_bias=False), nd, w)
    for shape in _sizes(n0, 3):
        cfg = dict(n=shape, k=k, s=s, d=d, padding=padding)
        try:
            geom = conv(shape, k, s, padding, d)
        except PaddingError:
            continue  # valid with a kernel longer than the input: not a Keras question
        oracle_count["keras"] += 1
        x = rng.standard_normal(shape) if nd == 1 else np.ones(shape)
        y = _call(layer, x)
        assert y.shape == geom.output, f"{cfg}: keras {y.shape} vs geometry {geom.output}"
        expected = conv_ref_1d(x, w, geom.axes[0]) if nd == 1 else ones_conv_expected(geom)
        np.testing.assert_allclose(y, expected, atol=1e-4, err_msg=f"{cfg} pads {geom.pads}")


@oracle_settings(20)
@given(s=st.integers(2, 3), d=st.integers(2, 3), nd=st.integers(1, 2),
       kind=st.sampled_from(["conv", "transpose"]))
def test_keras_refuses_strides_with_dilation(s: int, d: int, nd: int, kind: str,
                                             oracle_count: Counter[str]) -> None:
    """Keras pins: strides > 1 with dilation_rate > 1 is refused (padstride computes it)."""
    oracle_count["keras"] += 1
    cls = CONV[nd] if kind == "conv" else CONVT[nd]
    with pytest.raises(ValueError, match="dilation_rate > 1"):
        cls(1, 3, strides=s, dilation_rate=d, padding="same")
    conv((9,) * nd, 3, s, "same", d)


# --- Conv*Transpose ------------------------------------------------------------------------

@oracle_settings(120)
@given(nd=st.integers(1, 2), data=st.data(), padding=st.sampled_from(["same", "valid"]),
       with_op=st.booleans())
def test_conv_transpose_matches_keras_torch_rule(nd: int, data: st.DataObject, padding: str,
                                                 with_op: bool, oracle_count: Counter[str]) -> None:
    """Conv1DTranspose/Conv2DTranspose 'same'/'valid' ± output_padding: rule 'keras_torch'
    everywhere; TF's rule 'keras' wherever TF itself accepts the configuration."""
    k = tuple(data.draw(st.integers(1, 5)) for _ in range(nd))
    dilated = data.draw(st.booleans())
    s = (1,) * nd if dilated else tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(data.draw(st.integers(1, 2)) for _ in range(nd)) if dilated else (1,) * nd
    op = tuple(data.draw(st.integers(0, si - 1)) for si in s) if with_op else None
    n0 = tuple(data.draw(st.integers(1, 6)) for _ in range(nd))
    rng = np.random.default_rng(sum(k) + 5 * sum(n0))
    w = rng.standard_normal(k) if nd == 1 else np.ones(k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = _with_kernel(CONVT[nd](1, k, s, padding, output_padding=op, dilation_rate=d,
                                       use_bias=False), nd, w)
    for shape in _sizes(n0, 3):
        cfg = dict(n=shape, k=k, s=s, d=d, padding=padding, output_padding=op)
        oracle_count["keras"] += 1
        x = rng.standard_normal(shape) if nd == 1 else np.ones(shape)
        y = _call(layer, x)
        try:
            geom = conv_transpose(shape, k, s, padding, op, d, rule="keras_torch")
        except PaddingError:  # Keras returns an empty axis (length 0) instead of refusing
            assert 0 in y.shape, f"{cfg}: keras {y.shape}"
            continue
        assert y.shape == geom.output, f"{cfg}: keras {y.shape} vs geometry {geom.output}"
        expected = transpose_ref_1d(x, w, geom.axes[0]) if nd == 1 else ones_transpose_expected(geom)
        np.testing.assert_allclose(y, expected, atol=1e-4, err_msg=f"{cfg} crop {geom.pads}")
        tf_rule = conv_transpose(shape, k, s, padding, op, d, rule="keras")
        assert tf_rule.output == geom.output, cfg
        spans = [(ki - 1) * di + 1 for ki, di in zip(k, d, strict=True)]
        tf_refuses = padding == "same" and op is not None and any(
            K % 2 == 0 and o == 0 for K, o in zip(spans, op, strict=True))
        if not tf_refuses:
            assert tf_rule.pads == geom.pads, f"{cfg}: TF {tf_rule.pads} vs keras {geom.pads}"


def test_keras_transpose_disagrees_with_tf_where_tf_refuses(oracle_count: Counter[str]) -> None:
    """Pinned: Conv1DTranspose(k=4, s=2, 'same', output_padding=0) on n=5. TF refuses it
    (length (n−1)·s = 8 is not a SAME conv input for n=5); Keras on torch crops 2 at the start,
    TF's placement would crop 1."""
    oracle_count["keras"] += 1
    x = np.arange(1.0, 6.0)
    layer = _with_kernel(L.Conv1DTranspose(1, 4, 2, "same", output_padding=0, use_bias=False),
                         1, np.array([1.0, 0, 0, 0]))
    y = _call(layer, x)
    torch_rule = conv_transpose(5, 4, 2, "same", 0, rule="keras_torch")
    tf_rule = conv_transpose(5, 4, 2, "same", 0, rule="keras")
    assert y.shape == torch_rule.output == tf_rule.output == (8,)
    assert torch_rule.pads == ((2, 2),) and tf_rule.pads == ((1, 3),)
    np.testing.assert_allclose(y, transpose_ref_1d(x, np.array([1.0, 0, 0, 0]), torch_rule.axes[0]))


def test_keras_refuses_output_padding_not_below_stride(oracle_count: Counter[str]) -> None:
    """Keras pins: output_padding must be < strides (PyTorch: < max(stride, dilation))."""
    oracle_count["keras"] += 1
    with pytest.raises(ValueError, match="strictly less than"):
        L.Conv1DTranspose(1, 3, strides=2, output_padding=2)
    with pytest.raises(PaddingError, match="output_padding 2"):
        conv_transpose(5, 3, 2, "same", 2)


# --- pooling -------------------------------------------------------------------------------

@oracle_settings(80)
@given(nd=st.integers(1, 2), data=st.data(), padding=st.sampled_from(["same", "valid"]))
def test_max_pooling_matches_keras(nd: int, data: st.DataObject, padding: str,
                                   oracle_count: Counter[str]) -> None:
    """MaxPooling1D/2D 'same'/'valid' with strides (replicate padding cannot win a max)."""
    k = tuple(data.draw(st.integers(1, 4)) for _ in range(nd))
    s = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    n0 = tuple(data.draw(st.integers(max(k), 10)) for _ in range(nd))
    layer = MAXPOOL[nd](k, s, padding)
    for shape in _sizes(n0, 3):
        oracle_count["keras"] += 1
        geom = pool(shape, k, s, padding)
        y = _call(layer, ramp(shape))
        cfg = dict(n=shape, k=k, s=s, padding=padding, pads=geom.pads)
        assert y.shape == geom.output, f"{cfg}: keras {y.shape}"
        np.testing.assert_allclose(y, ramp_max_expected(geom), err_msg=str(cfg))


def _tf_average(x: np.ndarray, geom: Any) -> np.ndarray:
    """TF's SAME/VALID average pooling: the mean of the real cells of each window."""
    sums = np.zeros(geom.output)
    for idx in np.ndindex(*geom.output):
        window = tuple(slice(max(a.start(j), 0), min(a.start(j) + a.kernel, a.input))
                       for a, j in zip(geom.axes, idx, strict=True))
        sums[idx] = x[window].sum()
    return sums / outer([avg_divisors(a, count_include_pad=False) for a in geom.axes])


def _replicate_average(x: np.ndarray, geom: Any) -> np.ndarray:
    """What Keras on torch computes for asymmetric SAME: edge-replicate the pads, full windows."""
    padded = np.pad(x, geom.pads, mode="edge")
    out = np.zeros(geom.output)
    for idx in np.ndindex(*geom.output):
        window = tuple(slice(j * a.stride, j * a.stride + a.kernel)
                       for a, j in zip(geom.axes, idx, strict=True))
        out[idx] = padded[window].mean()
    return out


@oracle_settings(80)
@given(nd=st.integers(1, 2), data=st.data(), padding=st.sampled_from(["same", "valid"]))
def test_average_pooling_keras_vs_tf_rule(nd: int, data: st.DataObject, padding: str,
                                          oracle_count: Counter[str]) -> None:
    """AveragePooling1D/2D: TF's rule (pads excluded from the divisor) wherever the SAME pads are
    symmetric on every axis; with asymmetric pads Keras on torch replicates the edge instead."""
    k = tuple(data.draw(st.integers(1, 4)) for _ in range(nd))
    s = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    n0 = tuple(data.draw(st.integers(max(k), 9)) for _ in range(nd))
    layer = AVGPOOL[nd](k, s, padding)
    rng = np.random.default_rng(sum(k) + 3 * sum(n0))
    for shape in _sizes(n0, 3):
        oracle_count["keras"] += 1
        geom = pool(shape, k, s, padding)
        x = rng.standard_normal(shape)
        y = _call(layer, x)
        cfg = dict(n=shape, k=k, s=s, padding=padding, pads=geom.pads)
        assert y.shape == geom.output, f"{cfg}: keras {y.shape}"
        if geom.symmetric:
            np.testing.assert_allclose(y, _tf_average(x, geom), atol=1e-5, err_msg=str(cfg))
        else:
            np.testing.assert_allclose(y, _replicate_average(x, geom), atol=1e-5, err_msg=str(cfg))


def test_keras_average_pooling_same_fault_6x6(oracle_count: Counter[str]) -> None:
    """Known oracle fault (keras-team/keras #19721): AveragePooling2D(3, 2, 'same') on 6×6.

    TF's rule pads (0, 1) per axis and divides by the real cells; Keras on torch replicates the
    last row/column, so the last output row and column differ; the rest agree.
    """
    oracle_count["keras"] += 1
    geom = pool((6, 6), 3, 2, "same")
    assert geom.output == (3, 3) and geom.pads == ((0, 1), (0, 1))
    x = np.arange(36.0).reshape(6, 6)  # a ramp: each row adds 6, each column 1
    y = _call(L.AveragePooling2D(3, 2, "same"), x)
    tf = _tf_average(x, geom)
    np.testing.assert_allclose(y, _replicate_average(x, geom), atol=1e-5)
    diff = y - tf
    assert np.abs(diff[:2, :2]).max() < 1e-5  # windows that never touch the padding agree
    # last row: rows (4, 5, 5) instead of (4, 5): +6/6 = 1; last column: +1/6; corner: 7/6 ≈ 1.17
    np.testing.assert_allclose(diff[2, :2], 1.0, atol=1e-5)
    np.testing.assert_allclose(diff[:2, 2], 1 / 6, atol=1e-5)
    np.testing.assert_allclose(diff[2, 2], 7 / 6, atol=1e-5)
