"""engine.conv_transpose against torch.nn.functional.conv_transpose{1,2,3}d in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from padstride import geometry
from padstride.engine import conv_transpose, set_block_bytes, set_workers
from padstride.geometry import PaddingError

from ._oracle import check, draw_axes, oracle_settings, torch_op


@oracle_settings(120)
@given(st.data())
def test_conv_transpose_matches_torch(data: st.DataObject) -> None:
    nd = data.draw(st.integers(1, 3), "nd")
    groups = data.draw(st.integers(1, 3), "groups")
    cin, cog = groups * data.draw(st.integers(1, 3), "cin/g"), data.draw(st.integers(1, 3), "cout/g")
    size = draw_axes(data, nd, 1, {1: 9, 2: 6, 3: 4}[nd], "size")
    kernel = draw_axes(data, nd, 1, 4, "kernel")
    stride = draw_axes(data, nd, 1, 3, "stride")
    dil = draw_axes(data, nd, 1, 2, "dilation")
    asym = data.draw(st.booleans(), "asymmetric pads")
    if asym:  # (before, after) pairs, negative = extension: oracle = torch with no pads, then F.pad
        pads = [data.draw(st.tuples(st.integers(-2, 3), st.integers(-2, 3)), f"pad{i}") for i in range(nd)]
        ops = (0,) * nd
    else:
        pads = [data.draw(st.integers(0, 3), f"pad{i}") for i in range(nd)]
        ops = tuple(data.draw(st.integers(0, max(s, d) - 1), f"op{i}") for i, (s, d) in enumerate(zip(stride, dil,
                                                                                                      strict=True)))
    bias = data.draw(st.booleans(), "bias")
    block, workers = data.draw(st.sampled_from([1, 400, 4 << 20]), "block"), data.draw(st.sampled_from([1, 2]))
    try:
        geometry.conv_transpose(size, kernel, stride, pads, ops, dil)
    except PaddingError:
        assume(False)
        return
    rng = np.random.default_rng(nd * 7 + groups)
    x = rng.standard_normal((2, cin, *size))
    w = rng.standard_normal((cin, cog, *kernel))
    b = rng.standard_normal(cog * groups) if bias else None
    op = torch_op("conv_transpose", nd)
    tb = None if b is None else torch.from_numpy(b)
    if asym:  # torch with no pads, then crop (positive) or extend with zeros (negative) each side
        full = op(torch.from_numpy(x), torch.from_numpy(w), None, stride, 0, 0, groups, dil).numpy()
        ext = np.pad(full, [(0, 0), (0, 0)] + [(max(-p0, 0), max(-p1, 0)) for p0, p1 in pads])
        want = ext[(slice(None), slice(None), *(slice(max(p0, 0), ext.shape[2 + i] - max(p1, 0))
                                                 for i, (p0, p1) in enumerate(pads)))]
        if b is not None:  # a bias is added everywhere, the extension included
            want = want + b.reshape((1, -1) + (1,) * nd)
    else:
        want = op(torch.from_numpy(x), torch.from_numpy(w), tb, stride, pads, ops, groups, dil).numpy()
    old_b, old_w = set_block_bytes(block), set_workers(workers)
    try:
        got = conv_transpose(x, w, b, stride, pads, ops, dil, groups)
        got_last = conv_transpose(np.moveaxis(x, 1, -1), np.moveaxis(w, (0, 1), (nd + 1, nd)), b, stride, pads, ops,
                                  dil, groups, layout="channels_last")
    finally:
        set_block_bytes(old_b)
        set_workers(old_w)
    cfg = (nd, groups, cin, cog, size, kernel, stride, dil, pads, ops, bias, block, workers)
    check(got, want, cfg)
    check(np.moveaxis(got_last, -1, 1), want, (*cfg, "channels_last"))


def test_conv_transpose_dtype_and_errors() -> None:
    x = np.ones((1, 2, 3, 3), np.float32)
    assert conv_transpose(x, np.ones((2, 1, 2, 2), np.float32), stride=2).dtype == np.float32
    with pytest.raises(PaddingError, match="groups=3 does not fit"):
        conv_transpose(x, np.ones((2, 1, 2, 2)), groups=3)
    with pytest.raises(PaddingError, match="output_padding 2 must be"):
        conv_transpose(x, np.ones((2, 1, 2, 2)), stride=2, output_padding=2)


@oracle_settings(60)
@given(st.data())
def test_long_kernels_over_small_inputs_match_torch(data: st.DataObject) -> None:
    """Kernels much longer than the input (the scatter loops over inputs), cropped so that only
    some taps reach the output, tap chunks split by a small block limit."""
    nd = data.draw(st.integers(1, 2), "nd")
    size = draw_axes(data, nd, 1, 3, "size")
    kernel = draw_axes(data, nd, 5, 40, "kernel")
    stride = draw_axes(data, nd, 1, 3, "stride")
    dil = draw_axes(data, nd, 1, 2, "dilation")
    pads = [data.draw(st.integers(0, (d * (k - 1)) // 2), f"pad{i}") for i, (k, d) in enumerate(zip(kernel, dil,
                                                                                                   strict=True))]
    groups = data.draw(st.integers(1, 2), "groups")
    block = data.draw(st.sampled_from([64, 4096, 8 << 20]), "block")
    try:
        geometry.conv_transpose(size, kernel, stride, pads, 0, dil)
    except PaddingError:
        assume(False)
        return
    rng = np.random.default_rng(sum(kernel))
    x = rng.standard_normal((2, 2 * groups, *size))
    w = rng.standard_normal((2 * groups, 2, *kernel))
    want = torch_op("conv_transpose", nd)(torch.from_numpy(x), torch.from_numpy(w), None, stride, pads, 0, groups,
                                          dil).numpy()
    old = set_block_bytes(block)
    try:
        got = conv_transpose(x, w, None, stride, pads, 0, dil, groups)
    finally:
        set_block_bytes(old)
    check(got, want, (size, kernel, stride, dil, pads, groups, block))
