"""engine.reference — the few lines that say what each op is — against the frameworks (torch, float64),
and against the fast engine where only padstride defines the convention (TF SAME pooling, Keras
transposed ``same``/``valid``; the fast ops are checked against onnxruntime and Keras elsewhere)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from padstride import engine, geometry
from padstride.engine import reference
from padstride.geometry import PaddingError

from ._oracle import check, draw_axes, oracle_settings, torch_op, torch_padded
from .test_conv import conv_configs, operands, torch_conv

NAMES = ["valid", "same", "same_lower", "full", "causal"]


@oracle_settings(80)
@given(conv_configs())
def test_reference_conv_matches_torch(cfg: dict) -> None:
    geo, x, w, b = operands(cfg)
    want = torch_conv(x, w, b, geo, cfg["groups"], cfg["mode"])
    got = reference.conv(x, w, b, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"], cfg["mode"])
    check(got, want, cfg)


@oracle_settings(60)
@given(st.data())
def test_reference_pad_matches_torch(data: st.DataObject) -> None:
    nd = data.draw(st.integers(1, 3), "nd")
    shape = draw_axes(data, nd, 2, 5, "shape")
    pads = [data.draw(st.tuples(st.integers(-1, 4), st.integers(-1, 4)), f"pad{i}") for i in range(nd)]
    mode = data.draw(st.sampled_from(["constant", "reflect", "edge", "circular", "symmetric"]), "mode")
    assume(all(max(p) < n - 1 and n + sum(p) > 0 for n, p in zip(shape, pads, strict=True)))  # F.pad's limits
    assume(mode != "symmetric" or min(min(p) for p in pads) >= 0)  # np.pad: no crops
    x = np.random.default_rng(nd).standard_normal((2, 3, *shape))
    check(reference.pad(x, pads, mode), torch_padded(x, pads, mode), (shape, pads, mode))


@oracle_settings(80)
@given(st.data())
def test_reference_pool_matches_torch_and_the_conventions(data: st.DataObject) -> None:
    """Explicit symmetric pads against torch; conventions (TF's SAME divisor, ceil_mode) against engine.pool."""
    nd = data.draw(st.integers(1, 3), "nd")
    mode = data.draw(st.sampled_from(["max", "avg"]), "mode")
    size = draw_axes(data, nd, 1, {1: 10, 2: 7, 3: 5}[nd], "size")
    kernel = draw_axes(data, nd, 1, 3, "kernel")
    stride = draw_axes(data, nd, 1, 3, "stride")
    dil = draw_axes(data, nd, 1, 2, "dilation") if mode == "max" else (1,) * nd
    ceil = data.draw(st.booleans(), "ceil_mode")
    explicit = data.draw(st.booleans(), "explicit pads")
    padding: object = [data.draw(st.integers(0, k // 2)) for k in kernel] if explicit else data.draw(
        st.sampled_from(NAMES))
    try:
        geometry.pool(size, kernel, stride, padding, dil, ceil)
    except PaddingError:
        assume(False)
        return
    x = np.random.default_rng(nd).standard_normal((2, 3, *size))
    got = reference.pool(x, kernel, stride, padding, mode, ceil, dilation=dil)
    cfg = (nd, mode, size, kernel, stride, dil, padding, ceil)
    check(got, engine.pool(x, kernel, stride, padding, mode, ceil, dilation=dil), cfg)
    if explicit:
        kw = {"dilation": dil} if mode == "max" else {}
        try:
            want = torch_op(f"{mode}_pool", nd)(torch.from_numpy(x), kernel, stride, padding, ceil_mode=ceil, **kw)
        except RuntimeError:  # torch rejects some inputs smaller than the kernel even when padded
            return
        check(got, want.numpy(), cfg)


@oracle_settings(80)
@given(st.data())
def test_reference_conv_transpose_matches_torch_and_keras_rules(data: st.DataObject) -> None:
    nd = data.draw(st.integers(1, 3), "nd")
    groups = data.draw(st.integers(1, 2), "groups")
    cin, cog = groups * data.draw(st.integers(1, 2), "cin/g"), data.draw(st.integers(1, 3), "cout/g")
    size = draw_axes(data, nd, 1, {1: 8, 2: 5, 3: 4}[nd], "size")
    kernel = draw_axes(data, nd, 1, 4, "kernel")
    stride = draw_axes(data, nd, 1, 3, "stride")
    dil = draw_axes(data, nd, 1, 2, "dilation")
    keras = data.draw(st.sampled_from([None, "same", "valid"]), "keras padding")
    pads: object = keras or [data.draw(st.integers(0, 3), f"pad{i}") for i in range(nd)]
    ops = None if keras else [data.draw(st.integers(0, max(s, d) - 1), f"op{i}") for i, (s, d) in
                              enumerate(zip(stride, dil, strict=True))]
    try:
        geometry.conv_transpose(size, kernel, stride, pads, ops, dil)
    except PaddingError:
        assume(False)
        return
    rng = np.random.default_rng(nd)
    x, w, b = rng.standard_normal((2, cin, *size)), rng.standard_normal((cin, cog, *kernel)), rng.standard_normal(
        cog * groups)
    got = reference.conv_transpose(x, w, b, stride, pads, ops, dil, groups)
    cfg = (nd, groups, size, kernel, stride, dil, pads, ops)
    check(got, engine.conv_transpose(x, w, b, stride, pads, ops, dil, groups), cfg)
    if keras is None:
        want = torch_op("conv_transpose", nd)(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride,
                                              pads, ops, groups, dil)
        check(got, want.numpy(), cfg)
