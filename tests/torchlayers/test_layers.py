"""padstride.torch conv and pool layers against Keras 3 (torch backend), onnxruntime and torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import padstride.torch as pt
from padstride.geometry import Padding, avg_divisors, pool, resolve_axis

from .oracles import keras_conv, keras_pool, ort_conv, ort_pool

SETTINGS = settings(derandomize=True, max_examples=25, deadline=None, database=None)


@st.composite
def window_cfg(draw, max_nd=3, dilate=True):
    nd = draw(st.integers(1, max_nd))
    n = tuple(draw(st.integers(3, 12 if nd < 3 else 7)) for _ in range(nd))
    k = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = (1,) * nd
    if dilate and draw(st.booleans()):
        d = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    return nd, n, k, s, d


def _ort_auto_pad_ok(n, span, s):
    """onnxruntime's SAME auto_pad does not clip a negative total pad at 0 (kernel < stride)."""
    return all((-(-ni // si) - 1) * si + ki - ni >= 0 for ni, ki, si in zip(n, span, s, strict=False))


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------------------------------------
# convolution


@SETTINGS
@given(window_cfg(), st.sampled_from(["valid", "same"]))
def test_conv_matches_keras(cfg, padding):
    nd, n, k, s, d = cfg
    if any(x > 1 for x in s) and any(x > 1 for x in d):
        d = (1,) * nd  # Keras refuses stride > 1 together with dilation > 1
    span = [di * (ki - 1) + 1 for ki, di in zip(k, d, strict=False)]
    if padding == "valid" and any(ni < sp for ni, sp in zip(n, span, strict=False)):
        return
    layer = getattr(pt, f"Conv{nd}d")(2, 3, k, s, padding, d).double()
    x = rand(2, 2, *n)
    want = keras_conv(x, layer.weight.detach().numpy(), layer.bias.detach().numpy(), s, padding, d)
    got = layer(torch.tensor(x)).detach().numpy()
    assert got.shape == want.shape, (cfg, padding, got.shape, want.shape)
    np.testing.assert_allclose(got, want, atol=1e-10, err_msg=str((cfg, padding)))


def test_conv1d_causal_matches_keras():
    for k, d, n in [(3, 1, 9), (2, 3, 10), (5, 2, 6), (1, 1, 4)]:
        layer = pt.Conv1d(2, 3, k, 1, "causal", d).double()
        x = rand(1, 2, n)
        want = keras_conv(x, layer.weight.detach().numpy(), layer.bias.detach().numpy(), 1, "causal", d)
        np.testing.assert_allclose(layer(torch.tensor(x)).detach().numpy(), want, atol=1e-10, err_msg=str((k, d, n)))


@SETTINGS
@given(window_cfg(max_nd=2), st.sampled_from(["same", "same_lower", "valid", "pairs"]), st.data())
def test_conv_matches_onnxruntime(cfg, padding, data):
    nd, n, k, s, d = cfg
    if padding.startswith("same"):
        d = (1,) * nd  # onnxruntime: "Dilation not supported for AutoPadType::SAME_UPPER"
    span = [di * (ki - 1) + 1 for ki, di in zip(k, d, strict=False)]
    if padding == "pairs":
        pads = tuple((data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))) for _ in range(nd))
        spec, onnx_pads = pads, pads
    else:
        spec, onnx_pads = padding, {"same": "SAME_UPPER", "same_lower": "SAME_LOWER", "valid": "VALID"}[padding]
        pads = ((0, 0),) * nd if padding == "valid" else None
    if pads is not None and any(ni + b + a < sp for ni, (b, a), sp in zip(n, pads, span, strict=False)):
        return
    if padding.startswith("same") and not _ort_auto_pad_ok(n, span, s):
        return  # onnxruntime's fault, pinned below
    layer = getattr(pt, f"Conv{nd}d")(2, 3, k, s, spec, d)
    x = rand(2, 2, *n).astype(np.float32)
    want = ort_conv(x, layer.weight.detach().numpy(), layer.bias.detach().numpy(), s, onnx_pads, d)
    got = layer(torch.tensor(x)).detach().numpy()
    assert got.shape == want.shape, (cfg, spec, got.shape, want.shape)
    np.testing.assert_allclose(got, want, atol=1e-5, err_msg=str((cfg, spec)))


@SETTINGS
@given(
    window_cfg(max_nd=2, dilate=False),
    st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
    st.sampled_from(["same", "full", "causal", "pairs", "int"]),
    st.data(),
)
def test_conv_padding_modes_match_fpad(cfg, mode, padding, data):
    """Every mode and convention equals ``F.pad(mode)`` + an unpadded conv with the geometry's pads."""
    nd, n, k, s, _d = cfg
    if padding == "pairs":
        spec = tuple((data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in range(nd))
    elif padding == "int":
        spec = data.draw(st.integers(0, 2))
    else:
        spec = padding
    if padding == "causal" and nd > 1:
        spec = ("causal",) + ("same",) * (nd - 1)
    pads = Padding.parse(spec, nd).resolve(n, k, s)
    if any(max(b, a) >= ni for (b, a), ni in zip(pads, n, strict=False)) and mode != "zeros":
        return  # reflect/circular need pads smaller than the input
    if any(ni + b + a < ki for ni, (b, a), ki in zip(n, pads, k, strict=False)):
        return
    layer = getattr(pt, f"Conv{nd}d")(2, 2, k, s, spec, padding_mode=mode).double()
    x = torch.tensor(rand(1, 2, *n))
    flat = [p for pair in reversed(pads) for p in pair]
    want = getattr(F, f"conv{nd}d")(F.pad(x, flat, mode="constant" if mode == "zeros" else mode), layer.weight,
                                   layer.bias, s)
    got = layer(x)
    assert got.shape == want.shape, (cfg, mode, spec)
    torch.testing.assert_close(got, want, msg=str((cfg, mode, spec)))


def test_conv_negative_pads_crop():
    layer = pt.Conv2d(1, 1, 3, padding=((-1, 2), (0, -2))).double()
    x = torch.tensor(rand(1, 1, 8, 9))
    want = F.conv2d(F.pad(x[:, :, 1:, :-2], (0, 0, 0, 2)), layer.weight, layer.bias)
    torch.testing.assert_close(layer(x), want)


def _is_native(layer: torch.nn.Module) -> bool:
    """The layer's forward is its torch.nn base's own (planned in __init__, no padstride code per call)."""
    base = next(c for c in type(layer).__mro__ if c.__module__.startswith("torch.nn"))
    return type(layer).forward is base.forward


def test_static_symmetric_pads_are_native():
    """Stride 1 odd kernel, or symmetric explicit pads: the layer is nn.Conv2d with that padding."""
    for spec, want in [("same", (1, 2)), (3, (3, 3)), (((1, 1), (2, 2)), (1, 2)), ("valid", (0, 0))]:
        ours = pt.Conv2d(3, 4, (3, 5), padding=spec)
        assert _is_native(ours) and ours.padding == want, (spec, ours.padding)
        assert type(ours).__name__ == "Conv2d" and isinstance(ours, pt.Conv2d) and "padding=" in repr(ours)
    assert not _is_native(pt.Conv2d(3, 4, 3, stride=2, padding="same"))
    assert not _is_native(pt.Conv2d(3, 4, 2, padding="same"))  # (0, 1): asymmetric
    # TF same with a 1×1 kernel pads nothing at any stride and any size: native, no F.pad
    ours = pt.Conv2d(3, 4, 1, stride=(2, 3), padding="same")
    assert _is_native(ours) and ours.padding == (0, 0)
    x = torch.randn(1, 3, 7, 8)
    torch.testing.assert_close(ours(x), F.conv2d(x, ours.weight, ours.bias, (2, 3)))


def test_static_pads_match_the_geometry_at_every_size():
    """The planner's static pads (one size per residue mod the stride) are the geometry's at every size."""
    from padstride.torch._runtime import Window

    for spec in ["same", "same_lower", "valid", "full", "causal", "torch_same"]:
        for k in range(1, 6):
            for s in range(1, 5) if spec != "torch_same" else (1,):
                for d in (1, 2):
                    w = Window.parse(1, k, s, spec, d)
                    pads = {n: resolve_axis(n, k, s, d, spec) for n in range(1, 4 * s + 2 * k)}
                    if w.static is not None:
                        assert set(pads.values()) == {w.static[0]}, (spec, k, s, d)
                    else:
                        assert len(set(pads.values())) > 1, (spec, k, s, d)


def test_native_twin_pickles_copies_and_keeps_subclasses():
    import copy

    ours = pt.Conv2d(3, 4, 3, padding="same")
    for twin in (copy.deepcopy(ours), torch.load(_saved(ours), weights_only=False)):
        assert type(twin) is type(ours) and _is_native(twin)
        x = torch.randn(1, 3, 5, 6)
        torch.testing.assert_close(twin(x), ours(x))

    class Mine(pt.Conv2d):
        pass

    mine = Mine(3, 4, 3, padding="same")
    assert type(mine) is Mine and mine.padding == (1, 1)
    mine.load_state_dict(ours.state_dict())
    torch.testing.assert_close(mine(torch.ones(1, 3, 5, 6)), ours(torch.ones(1, 3, 5, 6)))


def _saved(module: torch.nn.Module):
    import io

    buf = io.BytesIO()
    torch.save(module, buf)
    buf.seek(0)
    return buf


def test_state_dict_from_nn_conv2d():
    ref = torch.nn.Conv2d(3, 5, 3, padding=1)
    ours = pt.Conv2d(3, 5, 3, padding="same")
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 9, 10)
    torch.testing.assert_close(ours(x), ref(x))
    assert isinstance(ours, torch.nn.Conv2d)
    assert "padding='same'" in repr(ours)


def test_stride2_odd_input_uses_native_padding_and_matches_timm_style():
    layer = pt.Conv2d(3, 4, 3, stride=2, padding="same")
    x = torch.randn(1, 3, 11, 12)
    want = F.conv2d(F.pad(x, [0, 1, 1, 1]), layer.weight, layer.bias, 2)  # TF pads: h (1, 1), w (0, 1)
    torch.testing.assert_close(layer(x), want)


def test_torch_same_needs_stride_one():
    from padstride.geometry import PaddingError

    with pytest.raises(PaddingError, match="stride 1"):
        pt.Conv2d(1, 1, 3, stride=2, padding="torch_same")


# ---------------------------------------------------------------------------------------------
# pooling


@SETTINGS
@given(window_cfg(dilate=False), st.sampled_from(["valid", "same"]))
def test_maxpool_matches_keras(cfg, padding):
    nd, n, k, s, _ = cfg
    if padding == "valid" and any(ni < ki for ni, ki in zip(n, k, strict=False)):
        return
    x = rand(2, 2, *n)
    want = keras_pool(x, "max", k, s, padding)
    got = getattr(pt, f"MaxPool{nd}d")(k, s, padding)(torch.tensor(x)).numpy()
    assert got.shape == want.shape, (cfg, padding)
    np.testing.assert_allclose(got, want, err_msg=str((cfg, padding)))


def _keras_avg_symmetric(n, k, s, padding):
    return padding == "valid" or all(b == a for b, a in Padding.parse("same", len(n)).resolve(n, k, s))


@SETTINGS
@given(window_cfg(dilate=False), st.sampled_from(["valid", "same"]))
def test_avgpool_matches_keras_where_keras_follows_tf(cfg, padding):
    """Keras-on-torch is right for valid and for symmetric same pads (its known fault: asymmetric)."""
    nd, n, k, s, _ = cfg
    if padding == "valid" and any(ni < ki for ni, ki in zip(n, k, strict=False)):
        return
    if not _keras_avg_symmetric(n, k, s, padding) or any(ki > ni for ki, ni in zip(k, n, strict=False)):
        return  # both pinned below
    x = rand(2, 2, *n)
    want = keras_pool(x, "avg", k, s, padding)
    got = getattr(pt, f"AvgPool{nd}d")(k, s, padding)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-12, err_msg=str((cfg, padding)))


@SETTINGS
@given(window_cfg(max_nd=3, dilate=False), st.sampled_from(["same", "same_lower"]))
def test_avgpool_same_matches_onnxruntime_and_divisors(cfg, padding):
    """TF's rule (divide by real cells) via onnxruntime SAME_UPPER/LOWER and the geometry divisors."""
    nd, n, k, s, _ = cfg
    if not _ort_auto_pad_ok(n, k, s):
        return  # onnxruntime's fault, pinned below
    x = rand(1, 2, *n)
    got = getattr(pt, f"AvgPool{nd}d")(k, s, padding)(torch.tensor(x)).numpy()
    want = ort_pool(x, "avg", k, s, {"same": "SAME_UPPER", "same_lower": "SAME_LOWER"}[padding])
    assert got.shape == want.shape, (cfg, padding)
    np.testing.assert_allclose(got, want, atol=1e-5, err_msg=str((cfg, padding)))
    # ones in → the sum of ones over the window / divisor = 1 everywhere; the divisor itself:
    ones = torch.ones(1, 1, *n, dtype=torch.float64)
    geo = pool(n, k, s, padding)
    div = np.ones(geo.output)
    for axis, w in enumerate(geo):
        shape = [1] * nd
        shape[axis] = -1
        div = div * np.asarray(avg_divisors(w, False)).reshape(shape)
    layer = getattr(pt, f"AvgPool{nd}d")(k, s, padding, divisor_override=1) if nd > 1 else None
    if layer is not None:
        np.testing.assert_allclose(layer(ones)[0, 0].numpy(), div, err_msg=str((cfg, padding)))


@SETTINGS
@given(
    window_cfg(max_nd=2),
    st.sampled_from(["max", "avg"]),
    st.booleans(),
    st.booleans(),
    st.data(),
)
def test_pool_explicit_pairs_match_onnxruntime(cfg, kind, ceil_mode, include, data):
    nd, n, k, s, d = cfg
    if kind == "avg":
        d = (1,) * nd
    pads = tuple((data.draw(st.integers(0, ki - 1)), data.draw(st.integers(0, ki - 1))) for ki in k)
    span = [di * (ki - 1) + 1 for ki, di in zip(k, d, strict=False)]
    if any(ni + b + a < sp for ni, (b, a), sp in zip(n, pads, span, strict=False)):
        return
    x = rand(1, 2, *n)
    if kind == "max":
        layer = getattr(pt, f"MaxPool{nd}d")(k, s, pads, d, ceil_mode=ceil_mode)
        want = ort_pool(x, "max", k, s, pads, ceil_mode, dilation=d)
    else:
        layer = getattr(pt, f"AvgPool{nd}d")(k, s, pads, ceil_mode, include)
        want = ort_pool(x, "avg", k, s, pads, ceil_mode, include)
    got = layer(torch.tensor(x)).numpy()
    assert got.shape == want.shape, (cfg, kind, pads, ceil_mode, include, got.shape, want.shape)
    np.testing.assert_allclose(got, want, atol=1e-5, err_msg=str((cfg, kind, pads, ceil_mode, include)))


def test_symmetric_explicit_pool_matches_torch():
    x = torch.randn(2, 3, 9, 8)
    torch.testing.assert_close(pt.AvgPool2d(3, 2, 1)(x), torch.nn.AvgPool2d(3, 2, 1)(x))
    torch.testing.assert_close(pt.AvgPool2d(3, 2, 1, True, False)(x), torch.nn.AvgPool2d(3, 2, 1, True, False)(x))
    torch.testing.assert_close(pt.MaxPool2d(3, 2, 1, 2)(x), torch.nn.MaxPool2d(3, 2, 1, 2)(x))
    assert _is_native(pt.AvgPool2d(3, 2, 1)) and _is_native(pt.MaxPool2d(3, 1, "same"))
    assert not _is_native(pt.AvgPool3d(3, 1, 1))  # F.avg_pool3d refuses inputs smaller than the kernel
    torch.testing.assert_close(pt.AvgPool3d(3, 1, 1)(x[:1, :1, :2, :2, None].expand(-1, -1, -1, -1, 2)),
                               F.avg_pool3d(F.pad(x[:1, :1, :2, :2, None].expand(-1, -1, -1, -1, 2),
                                                  [1] * 6), 3, 1))


def test_keras_avgpool_same_asymmetric_fault_is_pinned():
    """Keras 3 on torch pads asymmetric SAME average pooling by replicating: not TF's rule.

    6×6 input, 3×3 pool, stride 2 (pads (0, 1) per axis). padstride follows TF (= onnxruntime
    SAME_UPPER); if this test fails, Keras has changed: update docs/conventions.md.
    """
    x = rand(1, 1, 6, 6, seed=3)
    ours = pt.AvgPool2d(3, 2, "same")(torch.tensor(x)).numpy()
    ort = ort_pool(x, "avg", (3, 3), (2, 2), "SAME_UPPER")
    keras = keras_pool(x, "avg", (3, 3), (2, 2), "same")
    np.testing.assert_allclose(ours, ort, atol=1e-5)
    assert np.abs(keras - ours).max() > 1e-3
    np.testing.assert_allclose(keras[..., :2, :2], ours[..., :2, :2])  # interior cells agree


def test_keras_avgpool3d_same_kernel_larger_than_input_fails_is_pinned():
    """Keras 3 on torch raises for SAME 3-D average pooling when the kernel exceeds the input
    (torch's avg_pool3d checks the unpadded size); TF pads. padstride falls back to F.pad there."""
    x = rand(1, 1, 3, 3, 3, seed=4)
    with pytest.raises(Exception, match="smaller than kernel"):
        keras_pool(x, "avg", (1, 1, 5), (1, 1, 1), "same")
    for s in (1, 2):
        ours = pt.AvgPool3d((1, 1, 5), (1, 1, s), "same")(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours, ort_pool(x, "avg", (1, 1, 5), (1, 1, s), "SAME_UPPER"), atol=1e-6)


def test_avgpool_fast_path_decision():
    """The native ceil-mode path is taken exactly where the geometry proves it exact."""
    from padstride.torch.pool import native_pool_padding

    for k in range(1, 8):
        for s in range(1, 5):
            for n in range(1, 2 * s + k + 2):  # periodic in n with period s beyond that
                pads = resolve_axis(n, k, s, 1, "same")
                got = native_pool_padding(n, k, s, 1, pads, False)
                if s == 1:
                    assert (got is not None) == (k % 2 == 1), (n, k, s)
                x = torch.randn(1, 1, n, dtype=torch.float64)
                ones = torch.ones_like(x)
                ref = F.avg_pool1d(F.pad(x, list(pads)), k, s) / F.avg_pool1d(F.pad(ones, list(pads)), k, s)
                if got is not None:
                    fast = F.avg_pool1d(x, k, s, got, True, False)
                    torch.testing.assert_close(fast, ref, msg=str((n, k, s)))


def test_onnxruntime_auto_pad_negative_total_fault_is_pinned():
    """onnxruntime 1.32, SAME_UPPER with kernel < stride where (ceil(n/s)−1)·s + K − n < 0:
    TF clips the total pad at 0; onnxruntime does not. AveragePool reads a shifted window,
    MaxPool raises. padstride follows TF (the ONNX spec's formula has the same max(·, 0))."""
    x = np.arange(1.0, 4.0).reshape(1, 1, 3)  # n=3, k=1, s=3: TF reads x[0]
    assert pt.AvgPool1d(1, 3, "same")(torch.tensor(x)).item() == 1.0
    assert ort_pool(x, "avg", (1,), (3,), "SAME_UPPER").item() == 2.0
    with pytest.raises(Exception, match="non-negative"):
        ort_pool(x[..., :2], "max", (1,), (2,), "SAME_UPPER")


def test_return_indices_is_planned_in_init():
    """Indices of a padded input would mislead: refused when the layer is built, not at its first call."""
    from padstride.geometry import PaddingError

    with pytest.raises(PaddingError, match="return_indices"):
        pt.MaxPool2d(3, 2, "same", return_indices=True)
    x = torch.randn(1, 2, 7, 6)
    ours, ref = pt.MaxPool2d(3, 1, "same", return_indices=True), torch.nn.MaxPool2d(3, 1, 1, return_indices=True)
    for got, want in zip(ours(x), ref(x), strict=True):
        torch.testing.assert_close(got, want)
