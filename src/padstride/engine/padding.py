"""Padding of N-D arrays in every mode, with negative pads as crops.

>>> import numpy as np
>>> pad(np.arange(4), [(2, 1)], mode="reflect")
array([2, 1, 0, 1, 2, 3, 2])
>>> pad(np.arange(6).reshape(2, 3), [(0, 0), (-1, 2)], mode="circular")
array([[1, 2, 1, 2],
       [4, 5, 4, 5]])

Each output index ``o`` of an axis reads input position ``p = o − before`` mapped into ``[0, n)``:
``edge`` clamps, ``circular`` wraps (period ``n``), ``reflect`` mirrors about the edge pixels
(period ``2(n−1)``), ``symmetric`` mirrors with the edge pixels repeated (period ``2n``). Negative
pads crop; as in PyTorch, ``circular`` wraps what is left after the crop while the mirrors and
``edge`` keep reading the input in its own coordinates (a large mirror may reach a cropped pixel). Pads of
any size follow these periodic rules, which is what ``np.pad`` does for ``reflect``, ``symmetric``
and ``wrap``; ``torch.nn.functional.pad`` gives the same values where it accepts the size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from ..geometry import PaddingError

__all__ = ["PAD_MODES", "SPLIT_BYTES", "pad", "pad_mode", "source_index"]

#: Output bytes per block when a large array is padded in blocks of its first axis, so that each
#: block's copy and border fills stay in cache (measured in ``docs/engine.md``).
SPLIT_BYTES: Final = 2 << 20

#: Canonical mode names (aliases: ``zeros``→constant, ``replicate``→edge, ``wrap``→circular).
PAD_MODES: tuple[str, ...] = ("constant", "reflect", "symmetric", "edge", "circular")
_ALIASES = {"zeros": "constant", "replicate": "edge", "wrap": "circular"}


def pad_mode(mode: str) -> str:
    """Canonical mode name; accepts PyTorch's and NumPy's spellings.

    >>> pad_mode("replicate"), pad_mode("zeros")
    ('edge', 'constant')
    """
    key = _ALIASES.get(mode.lower(), mode.lower())
    if key not in PAD_MODES:
        raise PaddingError(f"unknown padding mode {mode!r}; expected one of {', '.join(PAD_MODES)}")
    return key


def source_index(positions: np.ndarray, n: int, mode: str, axis: int = 0) -> np.ndarray:
    """Input index read by each position of the padded axis (positions relative to the input).

    >>> source_index(np.arange(-3, 6), 3, "symmetric")
    array([2, 1, 0, 0, 1, 2, 2, 1, 0])
    """
    p = np.asarray(positions)
    if n < 1:
        raise PaddingError(f"axis {axis}: mode {mode!r} cannot pad an axis of size 0")
    if mode == "edge":
        return np.asarray(np.clip(p, 0, n - 1))
    if mode == "circular":
        return p % n
    if mode == "symmetric":
        q = p % (2 * n)
        return np.where(q < n, q, 2 * n - 1 - q)
    if mode == "reflect":
        if n == 1 and ((p < 0) | (p > 0)).any():
            raise PaddingError(
                f"axis {axis}: mode 'reflect' needs at least 2 input pixels to mirror, got 1; "
                "use 'symmetric' or 'edge'"
            )
        if n == 1:
            return p
        q = p % (2 * n - 2)
        return np.where(q < n, q, 2 * n - 2 - q)
    raise PaddingError(f"mode {mode!r} has no source index")  # pragma: no cover


def _pairs(pads: object) -> tuple[tuple[int, int], ...]:
    if isinstance(pads, (str, bytes)) or not isinstance(pads, Sequence):
        raise PaddingError(f"pads must be a sequence of (before, after) pairs, one per axis, got {pads!r}")
    out = []
    for axis, item in enumerate(pads):
        pair = (item, item) if isinstance(item, (int, np.integer)) else tuple(item)
        if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
            raise PaddingError(f"axis {axis}: pad must be an int or a (before, after) pair, got {item!r}")
        out.append((int(pair[0]), int(pair[1])))
    return tuple(out)


def padded_shape(shape: Sequence[int], pads: Sequence[tuple[int, int]], axes: Sequence[int]) -> tuple[int, ...]:
    """Shape after padding ``axes`` by ``pads``; raises if an axis would become negative."""
    out = list(shape)
    for i, (ax, (b, a)) in enumerate(zip(axes, pads, strict=True)):
        out[ax] = shape[ax] + b + a
        if out[ax] < 0:
            raise PaddingError(f"axis {i}: pads {(b, a)} crop more than the {shape[ax]} input pixels")
    return tuple(out)


def pad_into(
    x: np.ndarray,
    pads: Sequence[tuple[int, int]],
    out: np.ndarray,
    axes: Sequence[int],
    mode: str = "constant",
    value: float = 0.0,
    split_bytes: int = SPLIT_BYTES,
) -> np.ndarray:
    """Write ``x`` padded by ``pads`` along ``axes`` into ``out`` (already of the padded shape).

    One copy of the kept input, then each axis' borders filled in turn from the array being
    built (so corners come out right). ``x`` may be any strided view, e.g. a transposed one.
    A large array whose first axis is not padded is done in blocks of that axis (about
    ``split_bytes`` of output each) on the engine's threads, each block's copy and border
    fills together while it is in cache.
    """
    if 0 not in axes and x.ndim > 1 and x.shape[0] > 1 and out.nbytes >= 2 * split_bytes:
        from . import _blocks

        n = x.shape[0]
        step = max(1, n * split_bytes // out.nbytes)

        def work(block: tuple[int, int, int, int]) -> None:
            _pad_block(x[block[0]:block[1]], pads, out[block[0]:block[1]], axes, mode, value)

        _blocks.run([(a, min(n, a + step), 0, 0) for a in range(0, n, step)], work)
        return out
    return _pad_block(x, pads, out, axes, mode, value)


def _pad_block(
    x: np.ndarray,
    pads: Sequence[tuple[int, int]],
    out: np.ndarray,
    axes: Sequence[int],
    mode: str,
    value: float,
) -> np.ndarray:
    """:func:`pad_into` on one block, in this thread."""
    src: list[slice] = [slice(None)] * x.ndim
    dst: list[slice] = [slice(None)] * x.ndim
    for ax, (b, a) in zip(axes, pads, strict=True):
        n = x.shape[ax]
        lo, hi = max(0, -b), n - max(0, -a)
        src[ax] = slice(lo, max(lo, hi))
        dst[ax] = slice(max(b, 0), max(b, 0) + max(hi - lo, 0))
    if mode == "circular" and any(min(p) < 0 for p in pads):  # PyTorch: crop, then wrap what is left
        return _pad_block(x[tuple(src)], [(max(b, 0), max(a, 0)) for b, a in pads], out, axes, mode, value)
    out[tuple(dst)] = x[tuple(src)]
    if mode == "constant":
        for ax in axes:
            d = dst[ax]
            for border in (slice(0, d.start), slice(d.stop, out.shape[ax])):
                if border.stop > border.start:
                    idx = [slice(None)] * out.ndim
                    idx[ax] = border
                    out[tuple(idx)] = value
        return out
    done: list[slice] = list(dst)  # region of `out` filled so far
    for i, (ax, (b, _)) in enumerate(zip(axes, pads, strict=True)):
        n, d = x.shape[ax], dst[ax]
        for positions in (np.arange(0, d.start), np.arange(d.stop, out.shape[ax])):
            if not positions.size:
                continue
            if mode == "circular" and d.stop <= d.start:
                raise PaddingError(f"axis {i}: mode 'circular' has no input pixel left to wrap after the crop")
            where = source_index(positions - b, n, mode, i) + b  # index into `out` of the source
            if where.min() < d.start or where.max() >= d.stop:
                # a large pad mirrors into a region cropped on the other side: gather from x instead
                return _pad_gather(x, pads, out, axes, mode)
            target = list(done)
            target[ax] = slice(int(positions[0]), int(positions[-1]) + 1)
            source: list[slice | np.ndarray] = list(done)
            source[ax] = _as_slice(where)
            out[tuple(target)] = out[tuple(source)]
        done[ax] = slice(None)
    return out


def _as_slice(index: np.ndarray) -> slice | np.ndarray:
    """A basic slice for a run with step 1, −1 or 0 (0 broadcasts one cell); else the index array."""
    if index.size == 1 or (index == index[0]).all():
        return slice(int(index[0]), int(index[0]) + 1)
    step = int(index[1] - index[0])
    if step in (1, -1) and (np.diff(index) == step).all():
        stop = int(index[-1]) + step
        return slice(int(index[0]), None if stop < 0 else stop, step)
    return index


def _pad_gather(
    x: np.ndarray, pads: Sequence[tuple[int, int]], out: np.ndarray, axes: Sequence[int], mode: str
) -> np.ndarray:
    """Slow, always-correct path: one gather per axis from ``x`` (used when crops meet mirrors)."""
    y = x
    for i, (ax, (b, _)) in enumerate(zip(axes, pads, strict=True)):
        positions = np.arange(out.shape[ax]) - b
        y = np.take(y, source_index(positions, x.shape[ax], mode, i), axis=ax)
    out[...] = y
    return out


def pad(
    x: object,
    pads: Sequence[object],
    mode: str = "constant",
    value: float = 0.0,
    axes: Sequence[int] | None = None,
) -> np.ndarray:
    """Pad the last ``len(pads)`` axes of ``x`` (or ``axes``) by ``(before, after)`` each.

    Negative pads crop. Modes: ``constant`` (``value``), ``reflect``, ``symmetric``, ``edge``
    (alias ``replicate``), ``circular`` (alias ``wrap``); any pad size where the mode is defined
    (``reflect`` needs 2 pixels, the others 1). The dtype is kept.

    >>> import numpy as np
    >>> pad(np.ones((1, 2, 2), np.float32), [(1, 0), (0, 1)]).tolist()
    [[[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 0.0]]]
    >>> pad(np.arange(3), [(5, 0)], mode="edge")
    array([0, 0, 0, 0, 0, 0, 1, 2])
    """
    arr = np.asarray(x)
    pairs = _pairs(pads)
    if axes is None:
        if len(pairs) > arr.ndim:
            raise PaddingError(f"{len(pairs)} pad pairs for an array of {arr.ndim} axes")
        axes = tuple(range(arr.ndim - len(pairs), arr.ndim))
    else:
        axes = tuple(int(a) % arr.ndim for a in axes)
        if len(axes) != len(pairs):
            raise PaddingError(f"{len(pairs)} pad pairs for {len(axes)} axes {axes}")
    out = np.empty(padded_shape(arr.shape, pairs, axes), arr.dtype)
    return pad_into(arr, pairs, out, axes, pad_mode(mode), value)
