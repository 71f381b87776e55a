"""The scene (what every picture shows) against PyTorch: sizes, pads, never-read pixels, window sums."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from padstride.geometry import PaddingError, conv, conv_transpose, pool
from padstride.viz.scene import scene

from ._oracle import conv_read_mask, pool_read_mask, transpose_read_mask

SETTINGS = settings(derandomize=True, max_examples=60, deadline=None)

pad_spec = st.one_of(
    st.sampled_from(["valid", "same", "same_lower", "full", "causal", "torch_same"]),
    st.tuples(st.integers(-1, 3), st.integers(-1, 3)),
)


@st.composite
def conv_configs(draw: st.DrawFn) -> dict:
    nd = draw(st.integers(1, 2))
    return dict(
        input=tuple(draw(st.integers(1, 9)) for _ in range(nd)),
        kernel=tuple(draw(st.integers(1, 4)) for _ in range(nd)),
        stride=tuple(draw(st.integers(1, 3)) for _ in range(nd)),
        dilation=tuple(draw(st.integers(1, 2)) for _ in range(nd)),
        padding=tuple(draw(pad_spec) for _ in range(nd)),
    )


_RANK = ("cropped", "overhang", "pad")


def _expected(index: tuple[int, ...], n: tuple[int, ...], pads: tuple[tuple[int, int], ...],
              read: np.ndarray) -> str:
    """Kind of a shown cell from the pads and torch's read mask alone."""
    kinds = set()
    for i, size, (before, after) in zip(index, n, pads, strict=True):
        inside = -before <= i < size + after
        if 0 <= i < size:
            kinds.add("cropped" if not inside else "in")
        else:
            kinds.add("pad" if inside else "overhang")
    for kind in _RANK:
        if kind in kinds:
            return kind
    return "input" if read[index] else "dropped"


@SETTINGS
@given(conv_configs())
def test_conv_scene_matches_torch(cfg: dict) -> None:
    try:
        g = conv(**cfg)
    except PaddingError:
        assume(False)
    sc = scene(g)
    shape, read = conv_read_mask(cfg["input"], cfg["kernel"], cfg["stride"], cfg["dilation"], g.pads)
    assert sc.output == shape, cfg
    assert len(list(sc.positions())) == int(np.prod(shape)), cfg
    for index in itertools.product(*(range(a.lo, a.hi) for a in sc.axes)):
        assert sc.kind(index) == _expected(index, cfg["input"], g.pads, read), (cfg, index)


@SETTINGS
@given(st.data())
def test_pool_ceil_mode_scene_matches_torch(data: st.DataObject) -> None:
    nd = data.draw(st.integers(1, 2))
    k = tuple(data.draw(st.integers(1, 4)) for _ in range(nd))
    s = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    p = tuple(data.draw(st.integers(0, kk // 2)) for kk in k)
    n = tuple(data.draw(st.integers(1, 9)) for _ in range(nd))
    ceil = data.draw(st.booleans())
    try:
        g = pool(n, k, s, tuple((q, q) for q in p), ceil_mode=ceil)
    except PaddingError:
        assume(False)
    try:
        shape, read = pool_read_mask(n, k, s, p, ceil)
    except RuntimeError:
        assume(False)
    sc = scene(g)
    cfg = dict(n=n, k=k, s=s, p=p, ceil=ceil)
    assert sc.output == shape, cfg
    for index in itertools.product(*(range(m) for m in n)):
        assert (sc.kind(index) == "input") == bool(read[index]), (cfg, index)
    for axis, a in enumerate(sc.axes):
        for i in range(a.lo, a.hi):
            if i >= n[axis] + p[axis]:
                assert a.kind(i) == "overhang", (cfg, axis, i)


@SETTINGS
@given(st.data())
def test_transposed_scene_matches_torch(data: st.DataObject) -> None:
    nd = data.draw(st.integers(1, 2))
    n = tuple(data.draw(st.integers(1, 5)) for _ in range(nd))
    k = tuple(data.draw(st.integers(1, 4)) for _ in range(nd))
    s = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(data.draw(st.integers(1, 2)) for _ in range(nd))
    p = tuple(data.draw(st.integers(0, 4)) for _ in range(nd))
    op = tuple(data.draw(st.integers(0, max(ss, dd) - 1)) for ss, dd in zip(s, d, strict=True))
    try:
        g = conv_transpose(n, k, s, p, op, d)
    except PaddingError:
        assume(False)
    cfg = dict(n=n, k=k, s=s, d=d, p=p, op=op)
    shape, read = transpose_read_mask(n, k, s, d, p, op)
    sc = scene(g)
    assert sc.output == shape, cfg
    for index in itertools.product(*(range(m) for m in n)):  # real inputs sit at i·stride
        cell = tuple(i * ss for i, ss in zip(index, s, strict=True))
        if sc.kind(cell) != "cropped":
            assert (sc.kind(cell) == "input") == bool(read[index]), (cfg, index)
    for axis, a in enumerate(sc.axes):
        for i in range(max(a.lo, 0), min(a.hi, a.size)):
            if i % s[axis] and a.kind(i) != "cropped":
                assert a.kind(i) == "zero", (cfg, axis, i)


@SETTINGS
@given(st.data())
def test_windows_compute_the_op(data: st.DataObject) -> None:
    """Summing kernel × source cell over each drawn window gives torch's output (1-D, random values)."""
    transposed = data.draw(st.booleans())
    n, k, s, d = (data.draw(st.integers(1, 7)), data.draw(st.integers(1, 4)),
                  data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2)))
    p = data.draw(st.integers(0, 3))
    rng = np.random.default_rng(n * 1000 + k * 100 + s * 10 + d)
    x, w = rng.standard_normal(n), rng.standard_normal(k)
    try:
        if transposed:
            op = data.draw(st.integers(0, max(s, d) - 1))
            g = conv_transpose(n, k, s, p, op, d)
            want = torch.nn.functional.conv_transpose1d(
                torch.tensor(x)[None, None], torch.tensor(w)[None, None], stride=s, padding=p,
                output_padding=op, dilation=d)[0, 0].numpy()
        else:
            g = conv(n, k, s, (p, p), d)
            want = torch.nn.functional.conv1d(
                torch.tensor(x)[None, None], torch.tensor(w)[None, None], stride=s, padding=p,
                dilation=d)[0, 0].numpy()
    except PaddingError:
        assume(False)
    a = scene(g).axes[0]
    weights = w[::-1] if transposed else w

    def value(i: int) -> float:
        kind = a.kind(i)
        if kind in ("pad", "zero", "overhang", "cropped"):
            return 0.0
        return float(x[i // s] if transposed else x[i])

    got = np.array([sum(weights[t] * value(i) for t, i in enumerate(win)) for win in a.windows])
    np.testing.assert_allclose(got, want, atol=1e-9, err_msg=str((transposed, n, k, s, d, p)))


def test_dropped_matches_geometry() -> None:
    g = conv((8, 7), 3, stride=2)
    sc = scene(g)
    assert [i for i in range(8) if sc.axes[0].kind(i) == "dropped"] == list(g.axes[0].dropped)
    assert [i for i in range(7) if sc.axes[1].kind(i) == "dropped"] == list(g.axes[1].dropped)


def test_kind_strongest_wins() -> None:
    sc = scene(conv((3, 4), 3, padding=((1, 1), (0, -1))))
    assert sc.kind((-1, 3)) == "cropped"
    assert sc.kind((-1, 0)) == "pad"
    with pytest.raises(IndexError):
        sc.axes[0].kind(99)
