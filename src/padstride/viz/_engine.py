"""Numbers for the cells of a picture, computed by :mod:`padstride.engine` when it offers the op.

Inputs are small integers (as in the pictures of Dumoulin & Visin); the kernel is all ones, so
each output is the sum (conv), max or mean (pooling) of its window.
"""

from __future__ import annotations

import math

import numpy as np

from ..geometry import AnyGeometry, AxisWindow, Geometry, is_transposed
from .scene import Scene, as_2d

__all__ = ["VALUE_CELLS", "values"]

#: Largest source grid (cells) that gets numbers computed by the engine.
VALUE_CELLS = 1_000_000


def _ceil_mode(geometry: Geometry[AxisWindow]) -> bool:
    """Whether a pooling geometry counted a window past the floor rule (its ``ceil_mode``)."""
    return any(a.output != (a.padded_input - a.span) // a.stride + 1 for a in geometry.axes)


def _output(geometry: AnyGeometry, x: np.ndarray, pool_mode: str) -> np.ndarray | None:
    """The op's output from the engine (kernel of ones), or None when the engine lacks it."""
    try:
        from .. import engine
    except ImportError:  # pragma: no cover
        return None
    axes = geometry.axes
    kernel = tuple(a.kernel for a in axes)
    stride = tuple(a.stride for a in axes)
    dilation = tuple(a.dilation for a in axes)
    pads = tuple(a.pads for a in axes)  # explicit pairs: the engine re-derives nothing
    batch = x[None, None].astype(np.float64)
    w = np.ones((1, 1, *kernel))
    try:
        if is_transposed(geometry):
            y = engine.conv_transpose(batch, w, stride=stride, padding=pads, dilation=dilation)
        elif geometry.op == "conv":
            y = engine.conv(batch, w, stride=stride, padding=pads, dilation=dilation)
        elif geometry.op == "pool":
            y = engine.pool(batch, kernel, stride, pads, mode=pool_mode, ceil_mode=_ceil_mode(geometry),
                            dilation=dilation)
        else:
            return None
    except (AttributeError, TypeError, ValueError, NotImplementedError):
        return None
    out: np.ndarray = np.asarray(y)[0, 0]  # drop the batch and channel axes
    if out.shape != tuple(a.output for a in axes):
        return None
    return out


def values(
    geometry: AnyGeometry, full: Scene, seed: int = 0, pool_mode: str = "max"
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(source, output)`` arrays shaped like the drawn 2-D grids; NaN where nothing is written.

    None past :data:`VALUE_CELLS` source cells: numbers are for pictures of small inputs.
    """
    if math.prod(as_2d(full).shape) > VALUE_CELLS:
        return None
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=geometry.input).astype(np.float64)
    y = _output(geometry, x, pool_mode)
    if y is None:
        return None
    sc = as_2d(full)
    if full.ndim == 1:
        x, y = x[None], y[None]
    rows, cols = sc.axes
    source = np.full(sc.shape, np.nan)
    for r in range(rows.lo, rows.hi):
        for c in range(cols.lo, cols.hi):
            kind = sc.kind((r, c))
            if kind == "zero" or (kind == "pad" and geometry.op != "pool"):
                source[r - rows.lo, c - cols.lo] = 0.0  # pooling ignores its padding: no number
            elif kind in ("input", "dropped", "cropped"):
                i, j = r, c
                if geometry.op == "convtranspose":  # source = zero-stuffed input
                    i //= rows.stride if full.ndim == 2 else 1
                    j //= cols.stride
                source[r - rows.lo, c - cols.lo] = x[i, j]
    return source, y
