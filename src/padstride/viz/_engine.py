"""Numbers for the cells of a picture, computed by :mod:`padstride.engine` when it offers the op.

Inputs are small integers (as in the pictures of Dumoulin & Visin); the kernel is all ones, so
each output is the sum (conv), max or mean (pooling) of its window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .scene import Scene, as_2d

__all__ = ["values"]


def _output(geometry: Any, x: np.ndarray) -> np.ndarray | None:
    """The op's output from the engine, or None when the engine lacks it."""
    try:
        from .. import engine
    except ImportError:  # pragma: no cover
        return None
    axes = geometry.axes
    kernel = tuple(a.kernel for a in axes)
    stride = tuple(a.stride for a in axes)
    dilation = tuple(a.dilation for a in axes)
    pads = tuple(a.pads for a in axes)
    batch = x[None, None].astype(np.float64)
    try:
        if geometry.op == "conv" and hasattr(engine, "conv"):
            w = np.ones((1, 1, *kernel))
            y = engine.conv(batch, w, stride=stride, padding=pads, dilation=dilation)
        elif geometry.op == "convtranspose" and hasattr(engine, "conv_transpose"):
            w = np.ones((1, 1, *kernel))
            y = engine.conv_transpose(batch, w, stride=stride, padding=pads, dilation=dilation)
        elif geometry.op == "pool" and hasattr(engine, "max_pool"):
            y = engine.max_pool(batch, kernel, stride=stride, padding=pads, dilation=dilation,
                                ceil_mode=any(hasattr(a, "output") for a in axes))
        else:
            return None
    except (TypeError, ValueError, NotImplementedError):
        return None
    y = np.asarray(y)[0, 0]
    if y.shape != tuple(a.output for a in axes):
        return None
    return y


def values(geometry: Any, full: Scene, seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """``(source, output)`` arrays shaped like the drawn 2-D grids; NaN where nothing is written."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=geometry.input).astype(np.float64)
    y = _output(geometry, x)
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
            if kind in ("pad", "zero"):
                source[r - rows.lo, c - cols.lo] = 0.0
            elif kind in ("input", "dropped", "cropped"):
                i, j = r, c
                if geometry.op == "convtranspose":  # source = zero-stuffed input
                    i //= max(rows.stride, 1) if full.ndim == 2 else 1
                    j //= max(cols.stride, 1)
                source[r - rows.lo, c - cols.lo] = x[i, j]
    return source, y
