"""A brute-force reference, straight from the geometry's window taps (loops; for small tests only)."""

from __future__ import annotations

import itertools

import numpy as np

from padstride.geometry import Geometry, avg_divisors


def _windows(g: Geometry):
    """Yield (output index, list of input index tuples inside the input) for each output position."""
    for out_idx in itertools.product(*(range(a.output) for a in g.axes)):
        per_axis = [[i for i in a.taps(j)] for a, j in zip(g.axes, out_idx)]
        yield out_idx, per_axis


def conv(x: np.ndarray, w: np.ndarray, g: Geometry) -> np.ndarray:
    """x (C_in, *n), w (C_out, C_in, *k) → (C_out, *out)."""
    out = np.zeros((w.shape[0], *g.output))
    for out_idx, taps in _windows(g):
        for k_idx in itertools.product(*(range(len(t)) for t in taps)):
            src = tuple(t[k] for t, k in zip(taps, k_idx))
            if all(0 <= s < n for s, n in zip(src, g.input)):
                out[(slice(None), *out_idx)] += w[(slice(None), slice(None), *k_idx)] @ x[(slice(None), *src)]
    return out


def pool(x: np.ndarray, g: Geometry, mode: str, include_pad: bool) -> np.ndarray:
    """x (C, *n) → (C, *out); max ignores padding, avg divides by the geometry's divisors."""
    out = np.zeros((x.shape[0], *g.output))
    divisors = [avg_divisors(a, include_pad) for a in g.axes] if mode == "avg" else None
    for out_idx, taps in _windows(g):
        cells = [
            x[(slice(None), *src)]
            for src in itertools.product(*taps)
            if all(0 <= s < n for s, n in zip(src, g.input))
        ]
        if mode == "max":
            out[(slice(None), *out_idx)] = np.max(cells, axis=0)
        else:
            div = np.prod([d[j] for d, j in zip(divisors, out_idx)])
            out[(slice(None), *out_idx)] = np.sum(cells, axis=0) / div
    return out


def conv_transpose(x: np.ndarray, w: np.ndarray, g: Geometry) -> np.ndarray:
    """x (C_in, *n), w (C_in, C_out, *k) (PyTorch layout) → (C_out, *out)."""
    out = np.zeros((w.shape[1], *g.output))
    for in_idx in itertools.product(*(range(a.input) for a in g.axes)):
        targets = [a.targets(i) for a, i in zip(g.axes, in_idx)]
        for k_idx in itertools.product(*(range(len(t)) for t in targets)):
            dst = tuple(t[k] for t, k in zip(targets, k_idx))
            if all(0 <= d < n for d, n in zip(dst, g.output)):
                out[(slice(None), *dst)] += w[(slice(None), slice(None), *k_idx)].T @ x[(slice(None), *in_idx)]
    return out
