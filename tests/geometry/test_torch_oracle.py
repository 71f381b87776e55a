"""padstride.geometry against PyTorch: conv, pooling and transposed conv, 1-D to 3-D.

Sizes and values: ones ⊛ ones gives, per output, the product over axes of the taps that land on
real input, which depends on where each pad sits; a ramp's max pool gives the last real tap.
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
)

from ._oracle import (
    conv_ref_1d,
    ones_conv_expected,
    ones_transpose_expected,
    oracle_settings,
    outer,
    ramp,
    ramp_max_expected,
    torch_pad,
    transpose_ref_1d,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
MAXPOOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
AVGPOOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
CONVT = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))[None, None]


def _np(y: torch.Tensor) -> np.ndarray:
    return y[0, 0].detach().numpy()


@st.composite
def axes_of(draw: st.DrawFn, n_max: int = 12, k_max: int = 5, s_max: int = 3, d_max: int = 3,
            pad: tuple[int, int] = (-3, 4), nd: int | None = None) -> dict[str, tuple[int, ...]]:
    """Per spatial axis: input, kernel, stride, dilation, pad before, pad after."""
    nd = nd or draw(st.integers(1, 3))
    cap = n_max if nd < 3 else min(n_max, 8)
    axes = [(draw(st.integers(1, cap)), draw(st.integers(1, k_max)), draw(st.integers(1, s_max)),
             draw(st.integers(1, d_max)), draw(st.integers(*pad)), draw(st.integers(*pad)))
            for _ in range(nd)]
    names = ("n", "k", "s", "d", "b", "a")
    return {name: tuple(ax[i] for ax in axes) for i, name in enumerate(names)}


def _pairs(c: dict[str, tuple[int, ...]]) -> tuple[tuple[int, int], ...]:
    return tuple(zip(c["b"], c["a"], strict=True))


# --- convolution ---------------------------------------------------------------------------

@oracle_settings(400)
@given(c=axes_of())
def test_conv_explicit_and_crop_match_torch(c: dict[str, tuple[int, ...]],
                                            oracle_count: Counter[str]) -> None:
    """Explicit (before, after) pads, negative = crop, applied with F.pad; conv1d/2d/3d."""
    oracle_count["torch"] += 1
    nd, pads = len(c["n"]), _pairs(c)
    x, w = _t(np.ones(c["n"])), _t(np.ones(c["k"]))
    try:
        geom = conv(c["n"], c["k"], c["s"], pads, c["d"])
    except PaddingError as err:
        assert "axis" in str(err), c
        kept = [n + min(b, 0) + min(a, 0) for n, (b, a) in zip(c["n"], pads, strict=True)]
        if "removes all" in str(err) and min(kept) == 0 and all(
                n + b + a >= effective_kernel(k, d)
                for n, (b, a), k, d in zip(c["n"], pads, c["k"], c["d"], strict=True)):
            # deliberate difference: F.pad crops all input away, then the conv reads only padding
            y = CONV[nd](F.pad(x, torch_pad(pads)), w, stride=c["s"], dilation=c["d"])
            assert not _np(y).any(), f"{c}: every window should read only padding"
        else:
            with pytest.raises(RuntimeError):
                CONV[nd](F.pad(x, torch_pad(pads)), w, stride=c["s"], dilation=c["d"])
        return
    y = CONV[nd](F.pad(x, torch_pad(pads)), w, stride=c["s"], dilation=c["d"])
    assert _np(y).shape == geom.output, f"{c}: torch {tuple(y.shape[2:])} vs geometry {geom.output}"
    np.testing.assert_allclose(_np(y), ones_conv_expected(geom), err_msg=str(c))
    if all(b == a >= 0 for b, a in pads):  # the same pads through conv's own symmetric padding
        native = CONV[nd](x, w, stride=c["s"], dilation=c["d"], padding=c["b"])
        np.testing.assert_allclose(_np(native), _np(y), err_msg=str(c))


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@oracle_settings(150)
@given(c=axes_of(s_max=1, pad=(0, 0)), data=st.data())
def test_torch_same_matches_padding_same(c: dict[str, tuple[int, ...]], data: st.DataObject,
                                         oracle_count: Counter[str]) -> None:
    """'torch_same' is PyTorch padding='same' (stride 1; odd total pad: the extra pixel after)."""
    oracle_count["torch"] += 1
    nd = len(c["n"])
    geom = conv(c["n"], c["k"], 1, "torch_same", c["d"])
    x = data.draw(st.sampled_from([np.ones(c["n"]), ramp(c["n"])]), label="input")
    y = CONV[nd](_t(x), _t(np.ones(c["k"])), dilation=c["d"], padding="same")
    assert _np(y).shape == geom.output == c["n"], c
    padded = F.pad(_t(x), torch_pad(geom.pads))
    np.testing.assert_allclose(_np(y), _np(CONV[nd](padded, _t(np.ones(c["k"])), dilation=c["d"])),
                               err_msg=f"{c} pads {geom.pads}")


@oracle_settings(100)
@given(c=axes_of(nd=1, n_max=10, pad=(0, 0)))
def test_full_is_torch_padding_span_minus_one(c: dict[str, tuple[int, ...]],
                                              oracle_count: Counter[str]) -> None:
    """'full' pads K−1 on both sides: PyTorch padding=d·(k−1)."""
    oracle_count["torch"] += 1
    (n,), (k,), (s,), (d,) = c["n"], c["k"], c["s"], c["d"]
    geom = conv(n, k, s, "full", d)
    x, w = np.random.default_rng(n * 97 + k).standard_normal((2, max(n, k)))
    y = F.conv1d(_t(x[:n]), _t(w[:k]), stride=s, dilation=d, padding=effective_kernel(k, d) - 1)
    np.testing.assert_allclose(_np(y), conv_ref_1d(x[:n], w[:k], geom.axes[0]), atol=1e-9,
                               err_msg=str(c))


# --- pooling -------------------------------------------------------------------------------

@oracle_settings(300)
@given(c=axes_of(k_max=5, pad=(0, 2)), ceil_mode=st.booleans())
def test_max_pool_matches_torch(c: dict[str, tuple[int, ...]], ceil_mode: bool,
                                oracle_count: Counter[str]) -> None:
    """max_pool1d/2d/3d with padding ≤ k/2, dilation and ceil_mode (PyTorch rule)."""
    nd = len(c["n"])
    p = tuple(min(b, k // 2) for b, k in zip(c["b"], c["k"], strict=True))
    cfg = {**c, "p": p, "ceil_mode": ceil_mode}
    oracle_count["torch"] += 1
    try:
        geom = pool(c["n"], c["k"], c["s"], p, c["d"], ceil_mode=ceil_mode, rule="torch")
    except PaddingError:
        with pytest.raises(RuntimeError):
            MAXPOOL[nd](_t(ramp(c["n"])), c["k"], c["s"], p, c["d"], ceil_mode=ceil_mode)
        return
    y = MAXPOOL[nd](_t(ramp(c["n"])), c["k"], c["s"], p, c["d"], ceil_mode=ceil_mode)
    assert _np(y).shape == geom.output, f"{cfg}: torch {tuple(y.shape[2:])} vs {geom.output}"
    np.testing.assert_allclose(_np(y), ramp_max_expected(geom), err_msg=str(cfg))  # −inf: no input


@oracle_settings(300)
@given(c=axes_of(k_max=5, d_max=1, pad=(0, 2)), ceil_mode=st.booleans(),
       count_include_pad=st.booleans())
def test_avg_pool_divisors_match_torch(c: dict[str, tuple[int, ...]], ceil_mode: bool,
                                       count_include_pad: bool, oracle_count: Counter[str]) -> None:
    """avg_pool of ones × the geometry's divisor = the real cells of each window."""
    nd = len(c["n"])
    p = tuple(min(b, k // 2) for b, k in zip(c["b"], c["k"], strict=True))
    cfg = {**c, "p": p, "ceil_mode": ceil_mode, "count_include_pad": count_include_pad}
    oracle_count["torch"] += 1
    try:
        geom = pool(c["n"], c["k"], c["s"], p, ceil_mode=ceil_mode)
    except PaddingError:
        with pytest.raises(RuntimeError):
            AVGPOOL[nd](_t(np.ones(c["n"])), c["k"], c["s"], p, ceil_mode, count_include_pad)
        return
    if nd == 3 and any(n < k for n, k in zip(c["n"], c["k"], strict=True)):
        # PyTorch quirk (pinned): avg_pool3d alone checks the unpadded input against the kernel
        with pytest.raises(RuntimeError, match="smaller than kernel size"):
            AVGPOOL[nd](_t(np.ones(c["n"])), c["k"], c["s"], p, ceil_mode, count_include_pad)
        return
    y = _np(AVGPOOL[nd](_t(np.ones(c["n"])), c["k"], c["s"], p, ceil_mode, count_include_pad))
    assert y.shape == geom.output, f"{cfg}: torch {y.shape} vs {geom.output}"
    divisors = outer([avg_divisors(a, count_include_pad) for a in geom.axes])
    real = outer([[a.real_cells(j) for j in range(a.output)] for a in geom.axes])
    np.testing.assert_allclose(y * divisors, real, err_msg=str(cfg))


@oracle_settings(100)
@given(k=st.integers(1, 6), d=st.integers(1, 3), p=st.integers(0, 4),
       op=st.sampled_from(["max", "avg"]))
def test_torch_refuses_pool_padding_over_half_kernel(k: int, d: int, p: int, op: str,
                                                      oracle_count: Counter[str]) -> None:
    """PyTorch pins: pool padding must be ≤ kernel // 2 (the undilated kernel)."""
    oracle_count["torch"] += 1
    x = _t(np.ones(40))
    call = (lambda: F.max_pool1d(x, k, 1, p, d)) if op == "max" else (lambda: F.avg_pool1d(x, k, 1, p))
    if p <= k // 2:
        call()
    else:
        with pytest.raises(RuntimeError, match="at most half"):
            call()


# --- transposed convolution ----------------------------------------------------------------

@oracle_settings(300)
@given(c=axes_of(n_max=7, pad=(0, 3)), data=st.data())
def test_conv_transpose_matches_torch(c: dict[str, tuple[int, ...]], data: st.DataObject,
                                      oracle_count: Counter[str]) -> None:
    """conv_transpose1d/2d/3d: padding p, output_padding (legal iff < max(stride, dilation))."""
    nd = len(c["n"])
    op = tuple(data.draw(st.integers(0, max(s, d)), label="output_padding")
               for s, d in zip(c["s"], c["d"], strict=True))
    cfg = {**c, "p": c["b"], "op": op}
    oracle_count["torch"] += 1
    x, w = _t(np.ones(c["n"])), _t(np.ones(c["k"]))
    try:
        geom = conv_transpose(c["n"], c["k"], c["s"], c["b"], op, c["d"])
    except PaddingError as err:
        with pytest.raises(RuntimeError):
            CONVT[nd](x, w, stride=c["s"], padding=c["b"], output_padding=op, dilation=c["d"])
        assert "axis" in str(err), cfg
        return
    assert all(a.torch_args == (p, o) for a, p, o in zip(geom.axes, c["b"], op, strict=True)), cfg
    y = _np(CONVT[nd](x, w, stride=c["s"], padding=c["b"], output_padding=op, dilation=c["d"]))
    assert y.shape == geom.output, f"{cfg}: torch {y.shape} vs geometry {geom.output}"
    np.testing.assert_allclose(y, ones_transpose_expected(geom), err_msg=str(cfg))


@oracle_settings(150)
@given(n=st.integers(1, 8), k=st.integers(1, 5), s=st.integers(1, 4), d=st.integers(1, 2),
       p=st.integers(0, 3), extra=st.integers(-1, 4))
def test_conv_transpose_output_size_matches_torch(n: int, k: int, s: int, d: int, p: int,
                                                  extra: int, oracle_count: Counter[str]) -> None:
    """nn.ConvTranspose1d.forward(output_size=L): geometry's output_size with explicit pads."""
    oracle_count["torch"] += 1
    cfg = dict(n=n, k=k, s=s, d=d, p=p, extra=extra)
    low = (n - 1) * s - 2 * p + effective_kernel(k, d)
    if low < 1:
        return
    layer = torch.nn.ConvTranspose1d(1, 1, k, s, p, dilation=d, bias=False).double()
    rng = np.random.default_rng(n + 10 * k + 100 * s)
    w, x = rng.standard_normal(k), rng.standard_normal(n)
    with torch.no_grad():
        layer.weight.copy_(_t(w))
    try:
        ax = conv_transpose(n, k, s, p, None, d, output_size=low + extra).axes[0]
    except PaddingError:
        with pytest.raises(ValueError, match="valid sizes range"):
            layer(_t(x), output_size=[low + extra])
        return
    y = _np(layer(_t(x), output_size=[low + extra]).detach())
    np.testing.assert_allclose(y, transpose_ref_1d(x, w, ax), atol=1e-9, err_msg=str(cfg))


# --- PyTorch's refusals ----------------------------------------------------------------------

@oracle_settings(60)
@given(n=st.integers(3, 12), k=st.integers(1, 5), s=st.integers(2, 4), d=st.integers(1, 3))
def test_torch_refuses_same_with_stride(n: int, k: int, s: int, d: int,
                                        oracle_count: Counter[str]) -> None:
    """padding='same' with stride > 1: PyTorch refuses, and so does 'torch_same'."""
    oracle_count["torch"] += 1
    with pytest.raises((RuntimeError, ValueError), match="not supported for strided"):
        F.conv1d(_t(np.ones(n)), _t(np.ones(k)), stride=s, dilation=d, padding="same")
    with pytest.raises(PaddingError, match=r"'torch_same' \(PyTorch padding='same'\) needs stride 1"):
        conv(n, k, s, "torch_same", d)
    assert conv(n, k, s, "same", d).output == (-(-n // s),)  # TF's SAME is the answer


@oracle_settings(60)
@given(n=st.integers(4, 12), k=st.integers(1, 4), b=st.integers(-3, -1))
def test_torch_conv_refuses_negative_padding(n: int, k: int, b: int,
                                             oracle_count: Counter[str]) -> None:
    """Negative pads (crop) need F.pad: conv's own padding refuses them."""
    oracle_count["torch"] += 1
    with pytest.raises(RuntimeError, match="negative padding"):
        F.conv1d(_t(np.ones(n)), _t(np.ones(k)), padding=b)
    if n + 2 * b >= k:
        assert conv(n, k, 1, b).output == (n + 2 * b - k + 1,)
