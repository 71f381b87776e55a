"""engine.pad against np.pad (any size) and torch.nn.functional.pad (negative pads, all its modes)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from padstride.engine import pad
from padstride.engine.padding import pad_into, pad_mode, padded_shape
from padstride.geometry import PaddingError

from ._oracle import check, oracle_settings, torch_pad

NP_MODES = {"constant": "constant", "reflect": "reflect", "symmetric": "symmetric", "edge": "edge",
            "circular": "wrap"}
TORCH_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "circular": "circular"}


@oracle_settings(120)
@given(st.data())
def test_pad_matches_numpy_for_any_size(data: st.DataObject) -> None:
    nd = data.draw(st.integers(1, 3), "nd")
    shape = data.draw(st.lists(st.integers(2, 5), min_size=nd, max_size=nd), "shape")
    pads = data.draw(st.lists(st.tuples(st.integers(0, 13), st.integers(0, 13)), min_size=nd, max_size=nd), "pads")
    mode = data.draw(st.sampled_from(sorted(NP_MODES)), "mode")
    x = np.random.default_rng(len(shape)).standard_normal((2, *shape)).astype(np.float32)
    want = np.pad(x, [(0, 0), *pads], mode=NP_MODES[mode])
    got = pad(x, pads, mode=mode)
    assert got.dtype == np.float32
    check(got, want, (shape, pads, mode))


@oracle_settings(120)
@given(st.data())
def test_pad_matches_torch_with_crops(data: st.DataObject) -> None:
    check_torch(data)


@oracle_settings(60)
@given(st.data())
def test_pad_in_blocks_of_the_first_axis_matches_torch(data: st.DataObject) -> None:
    """Large arrays are padded in blocks of their first axis on threads: forced here with tiny blocks."""
    split = data.draw(st.sampled_from([1, 40, 200]), "split bytes")

    def blocked(x: np.ndarray, pads: list[tuple[int, int]], mode: str) -> np.ndarray:
        pairs = [tuple(p) for p in pads]
        out = np.empty(padded_shape(x.shape, pairs, range(2, x.ndim)), x.dtype)
        return pad_into(x, pairs, out, range(2, x.ndim), pad_mode(mode), split_bytes=split)

    check_torch(data, batch=5, op=blocked)


def check_torch(data: st.DataObject, batch: int = 1, op=pad) -> None:  # type: ignore[no-untyped-def]
    nd = data.draw(st.integers(1, 3), "nd")
    shape = data.draw(st.lists(st.integers(1, 6), min_size=nd, max_size=nd), "shape")
    pads = data.draw(st.lists(st.tuples(st.integers(-3, 5), st.integers(-3, 5)), min_size=nd, max_size=nd),
                     "pads")
    mode = data.draw(st.sampled_from(sorted(TORCH_MODES)), "mode")
    x = np.random.default_rng(7).standard_normal((batch, 2, *shape))
    emptied = any(n + min(b, 0) + min(a, 0) < 1 and max(b, a) > 0 for n, (b, a) in zip(shape, pads, strict=True))
    if mode == "circular" and emptied and all(n + b + a > 0 for n, (b, a) in zip(shape, pads, strict=True)):
        # nothing left to pad from: padstride raises; F.pad returns uninitialized memory here
        with pytest.raises(PaddingError):
            op(x, pads, mode=mode)
        return
    if mode == "circular":  # F.pad wraps the cropped input at most once (beyond: an error or junk)
        assume(all(max(b, a) <= n + min(b, 0) + min(a, 0) for n, (b, a) in zip(shape, pads, strict=True)))
    try:
        want = F.pad(torch.from_numpy(x), torch_pad(pads), mode=TORCH_MODES[mode]).numpy()
    except (RuntimeError, ValueError, IndexError):
        assume(False)
        return
    assume(want.size > 0)
    check(op(x, pads, mode=mode), want, (shape, pads, mode))


def test_pad_value_dtype_and_axes() -> None:
    x = np.arange(6, dtype=np.int16).reshape(2, 3)
    got = pad(x, [(1, 0)], value=-1, axes=[0])
    assert got.dtype == np.int16
    assert got.tolist() == [[-1, -1, -1], [0, 1, 2], [3, 4, 5]]
    assert pad(x, [(0, 0), (-1, -1)]).tolist() == [[1], [4]]


@pytest.mark.parametrize(
    ("x", "pads", "mode", "message"),
    [
        (np.ones(1), [(1, 0)], "reflect", "needs at least 2"),
        (np.ones(3), [(-3, 1)], "circular", "no input pixel left"),
        (np.ones(3), [(-2, -2)], "constant", "crop more than"),
        (np.ones(3), [(1, 0)], "mirror", "unknown padding mode"),
        (np.ones(3), [(1, 0), (1, 1)], "constant", "2 pad pairs"),
    ],
)
def test_pad_errors_are_clear(x: np.ndarray, pads: list[tuple[int, int]], mode: str, message: str) -> None:
    with pytest.raises(PaddingError, match=message):
        pad(x, pads, mode=mode)
