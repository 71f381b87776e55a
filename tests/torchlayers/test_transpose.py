"""padstride.torch ConvTranspose layers against Keras 3 (torch backend), onnxruntime and torch."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import padstride.torch as pt
from padstride.geometry import PaddingError, conv_transpose

from .oracles import keras_conv_transpose, ort_conv_transpose

SETTINGS = settings(derandomize=True, max_examples=25, deadline=None, database=None)


@st.composite
def cfg(draw):
    nd = draw(st.integers(1, 3))
    n = tuple(draw(st.integers(1, 6 if nd < 3 else 4)) for _ in range(nd))
    k = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    return nd, n, k, s


def _layer(nd, k, s, padding, output_padding=None, rule="keras"):
    return getattr(pt, f"ConvTranspose{nd}d")(2, 3, k, s, padding, output_padding, rule=rule).double()


def _np(t):
    return t.detach().numpy()


@SETTINGS
@given(cfg(), st.sampled_from(["same", "valid"]), st.booleans(), st.data())
def test_matches_keras_on_torch(c, padding, with_op, data):
    """Keras 3.15 on torch: TF's rule wherever TF defines one, else rule='keras_torch'."""
    nd, n, k, s = c
    op = tuple(data.draw(st.integers(0, si - 1)) for si in s) if with_op else None
    layer = _layer(nd, k, s, padding, op, rule="keras_torch" if with_op else "keras")
    x = np.random.default_rng(1).standard_normal((2, 2, *n))
    want = keras_conv_transpose(x, _np(layer.weight), _np(layer.bias), s, padding, op)
    got = _np(layer(torch.tensor(x)))
    assert got.shape == want.shape, (c, padding, op, got.shape, want.shape)
    np.testing.assert_allclose(got, want, atol=1e-10, err_msg=str((c, padding, op)))


@SETTINGS
@given(cfg())
def test_keras_rule_same_matches_onnxruntime_same_upper(c):
    """TF's placement of the odd crop (the gradient of a SAME conv) = onnxruntime SAME_UPPER, output n·s."""
    nd, n, k, s = c
    if any(ki < si for ki, si in zip(k, s, strict=True)):
        return  # crop would be negative: ONNX auto_pad and Keras then differ by design
    layer = _layer(nd, k, s, "same")
    x = np.random.default_rng(2).standard_normal((1, 2, *n))
    want = ort_conv_transpose(x, _np(layer.weight), _np(layer.bias), s, "SAME_UPPER")
    got = _np(layer(torch.tensor(x)))
    assert got.shape == want.shape, (c, got.shape, want.shape)
    np.testing.assert_allclose(got, want, atol=1e-5, err_msg=str(c))


def test_rules_differ_only_where_tf_has_no_answer():
    """'keras' (TF) and 'keras_torch' (Keras 3.15 on torch/JAX) agree except for ``same`` with an
    explicit output_padding and an even kernel, where TF's output_shape check fails."""
    from padstride.geometry import conv_transpose_axis

    for k in range(1, 7):
        for s in range(1, 4):
            for op in [None, *range(s)]:
                for pad in ("same", "valid"):
                    a = conv_transpose_axis(6, k, s, pad, op)
                    b = conv_transpose_axis(6, k, s, pad, op, rule="keras_torch")
                    assert (a.pads == b.pads) or (pad == "same" and op is not None and k % 2 == 0), (k, s, op, pad)


@SETTINGS
@given(cfg(), st.data())
def test_explicit_pads_match_nn_conv_transpose(c, data):
    nd, n, k, s = c
    d = tuple(data.draw(st.integers(1, 2)) for _ in range(nd))
    p = tuple(data.draw(st.integers(0, ki - 1)) for ki in k)
    op = tuple(data.draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d, strict=True))
    try:
        conv_transpose(n, k, s, p, op, d)
    except PaddingError:
        return
    ref = getattr(torch.nn, f"ConvTranspose{nd}d")(2, 3, k, s, p, op, dilation=d).double()
    ours = getattr(pt, f"ConvTranspose{nd}d")(2, 3, k, s, p, op, dilation=d).double()
    ours.load_state_dict(ref.state_dict())
    assert type(ours).forward is getattr(torch.nn, f"ConvTranspose{nd}d").forward
    x = torch.randn(1, 2, *n, dtype=torch.float64)
    torch.testing.assert_close(ours(x), ref(x), msg=str((c, d, p, op)))


@SETTINGS
@given(cfg(), st.data())
def test_asymmetric_pairs_crop_the_full_output(c, data):
    """Per-axis (before, after) pairs: the full output cropped (or extended with bias) as the geometry says."""
    nd, n, k, s = c
    pads = tuple((data.draw(st.integers(-1, 2)), data.draw(st.integers(-1, 2))) for _ in range(nd))
    try:
        geo = conv_transpose(n, k, s, pads)
    except PaddingError:
        return
    ours = getattr(pt, f"ConvTranspose{nd}d")(2, 3, k, s, pads).double()
    x = torch.randn(1, 2, *n, dtype=torch.float64)
    full = getattr(torch.nn.functional, f"conv_transpose{nd}d")(x, ours.weight, None, s)
    flat = [-v for pair in reversed(pads) for v in pair]
    want = torch.nn.functional.pad(full, flat) + ours.bias.view(-1, *[1] * nd)
    got = ours(x)
    assert tuple(got.shape[2:]) == geo.output, (c, pads)
    torch.testing.assert_close(got, want, msg=str((c, pads)))
