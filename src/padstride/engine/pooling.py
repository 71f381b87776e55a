"""N-D max and average pooling with every framework's ``ceil_mode`` and divisor rules.

>>> import numpy as np
>>> x = np.arange(36, dtype=np.float32).reshape(1, 1, 6, 6)
>>> pool(x, 3, 2, padding="same", mode="avg")[0, 0]     # TF: padded cells are not counted
array([[ 7. ,  9. , 10.5],
       [19. , 21. , 22.5],
       [28. , 30. , 31.5]], dtype=float32)
>>> pool(x[..., :5, :5], 2, ceil_mode=True)[0, 0]             # the last window overhangs
array([[ 7.,  9., 10.],
       [19., 21., 22.],
       [25., 27., 28.]], dtype=float32)

The input is padded once (``-inf`` for max, ``0`` for average, plus the overhang a ``ceil_mode``
window needs; not copied at all when nothing is padded), then a loop over the kernel taps reduces
whole strided views per block of images × output rows (at most ``min(BLOCK_BYTES, TAP_BYTES)`` =
2 MiB of accumulator, plus as much for a temporary, per block; see :mod:`padstride.engine._blocks`).
The taps are generated lazily, never listed; along the last axis a kernel longer than
:data:`WINDOW_TAPS` is reduced in one call over a window view where a block has few outputs for
its kernel, so a global pool over 2048² makes 2048 NumPy calls, not 2048². A kernel with more
taps than the input has cells is computed per input cell instead (nothing padded). Sizes and pads
come from :func:`padstride.geometry.pool`, divisors from :func:`padstride.geometry.avg_divisors`
(average pooling may be dilated, as ONNX and TF allow).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from .. import geometry
from ..geometry import Padding, PaddingError
from . import _blocks
from ._layout import check_layout
from .padding import pad_into, padded_shape

__all__ = ["POOL_MODES", "WINDOW_TAPS", "pool"]

POOL_MODES: tuple[str, ...] = ("max", "avg")

#: Along the last spatial axis, kernels up to this many taps are reduced tap by tap (one
#: elementwise call per tap, the fastest for small kernels); longer ones in one ``reduce`` call
#: over a window view of the whole axis, when a block has fewer than ``WINDOW_OUTPUTS_PER_TAP ×
#: kernel`` outputs. A window-view reduce costs ~100 ns per output, a call per tap ~2 µs, so it
#: pays where outputs are few for the kernel (a global pool); elsewhere the tap loop is faster.
WINDOW_TAPS = 16
WINDOW_OUTPUTS_PER_TAP = 16


def _spatial_ndim(x: np.ndarray, kernel: object) -> int:
    if isinstance(kernel, Sequence):
        return len(kernel)
    if x.ndim < 3:
        raise PaddingError(f"pooling needs (N, C, *spatial); got an array of shape {x.shape}")
    return x.ndim - 2


def _divisor_map(divs: Sequence[np.ndarray], ndim: int, sax: Sequence[int]) -> np.ndarray:
    """The N-D divisor (product of the per-axis divisors), broadcastable against the output."""
    div = divs[0].reshape((-1,) + (1,) * (ndim - sax[0] - 1))
    for i, d in enumerate(divs[1:], 1):
        div = div * d.reshape((-1,) + (1,) * (ndim - sax[i] - 1))
    return div


def _pool_by_inputs(xa: np.ndarray, geo: geometry.Geometry[geometry.AxisWindow], sax: Sequence[int], reduce: np.ufunc,
                    dtype: np.dtype, fill: float | int) -> np.ndarray:
    """Max, or the window sums, computed per input position: each input cell is reduced into the
    outputs whose windows read it (per axis an arithmetic run of output indices). For kernels with
    more taps than the input has cells, e.g. a huge kernel over a small, heavily padded input: the
    work follows the input's cells times the windows each is in, and nothing is padded."""
    runs: list[list[slice | None]] = []
    for a in geo:  # per axis and input index p: the outputs j with j·s − before + t·d = p, t < k
        step = a.dilation // math.gcd(a.stride, a.dilation)
        axis_runs: list[slice | None] = []
        for p in range(a.input):
            q = p + a.pad_before
            lo = max(0, -(-(q - (a.kernel - 1) * a.dilation) // a.stride))
            hi = min(a.output - 1, q // a.stride)
            first = next((j for j in range(lo, min(hi, lo + step - 1) + 1) if (q - j * a.stride) % a.dilation == 0),
                         None)
            axis_runs.append(None if first is None else slice(first, hi + 1, step))
        runs.append(axis_runs)
    shape = list(xa.shape)
    for ax, a in zip(sax, geo, strict=True):
        shape[ax] = a.output
    out = np.full(shape, fill, dtype)
    dst: list[slice] = [slice(None)] * out.ndim
    src: list[slice] = [slice(None)] * xa.ndim
    for pos in itertools.product(*(range(a.input) for a in geo)):
        for ax, axis_runs, p in zip(sax, runs, pos, strict=True):
            run = axis_runs[p]
            if run is None:
                break
            dst[ax], src[ax] = run, slice(p, p + 1)
        else:
            view = out[tuple(dst)]
            reduce(view, xa[tuple(src)], out=view)
    return out


def pool(
    x: object,
    kernel: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: object = "valid",
    mode: str = "max",
    ceil_mode: bool = False,
    count_include_pad: bool | None = None,
    dilation: int | Sequence[int] = 1,
    layout: str = "channels_first",
    rule: str = "torch",
) -> np.ndarray:
    """Max or average pooling over the spatial axes of ``x``; ``stride`` defaults to ``kernel``.

    ``count_include_pad=None`` (default) follows each framework: padded cells of a convention
    (``same`` …, as TF/Keras do) are not counted, explicit pads are (PyTorch's default); it is
    decided per axis. ``ceil_mode`` follows ``rule`` (``torch``, ``caffe`` or ``onnx``, see
    :mod:`padstride.geometry.pool`). A scalar ``kernel`` means ``x.ndim − 2`` spatial axes;
    with a sequence the batch axis is optional. Max keeps the dtype; average of integers gives
    float64.

    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> pool(x, (2, 2), padding="same", mode="max", layout="channels_last")[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    xa = np.asarray(x)
    layout = check_layout(layout)
    if mode not in POOL_MODES:
        raise PaddingError(f"unknown pooling mode {mode!r}; expected 'max' or 'avg'")
    nd = _spatial_ndim(xa, kernel)
    was_batched = xa.ndim == nd + 2
    if xa.ndim == nd + 1:
        xa = xa[None]
    elif not was_batched:
        raise PaddingError(f"input of shape {xa.shape} does not fit {nd} spatial axes")
    sax = tuple(range(2, 2 + nd)) if layout == "channels_first" else tuple(range(1, 1 + nd))
    geo = geometry.pool(tuple(xa.shape[a] for a in sax), kernel, stride, padding, dilation, ceil_mode, rule)
    if mode == "avg":
        spec = Padding.parse(padding, nd)
        include = [
            (not isinstance(a, str)) if count_include_pad is None else bool(count_include_pad) for a in spec.axes
        ]
        divs = [np.asarray(geometry.avg_divisors(a, inc), np.float64) for a, inc in zip(geo, include, strict=True)]
        dtype = np.result_type(xa.dtype, np.float16) if xa.dtype.kind == "f" else np.dtype(np.float64)
        fill: float | int = 0
    else:
        dtype = xa.dtype
        fill = -np.inf if dtype.kind in "fc" else (np.iinfo(dtype).min if dtype.kind in "iu" else False)
    if math.prod(geo.input) < math.prod(a.kernel for a in geo):  # a huge kernel over a small input
        out = _pool_by_inputs(xa, geo, sax, np.maximum if mode == "max" else np.add, dtype, fill)
        if mode == "avg":
            out /= _divisor_map(divs, out.ndim, sax).astype(dtype)
        return out if was_batched else out[0]
    # pads, plus the overhang of a ceil_mode window past the padded input
    pads = [(a.pad_before, a.pad_after + a.overhang) for a in geo]
    if any(p != (0, 0) for p in pads) or xa.dtype != dtype:
        xp = np.empty(padded_shape(xa.shape, pads, sax), dtype)
        pad_into(xa, pads, xp, sax, "constant", fill)
    else:
        xp = xa  # nothing to pad: read the input in place
    outs = geo.output
    shape = list(xa.shape)
    for a, o in zip(sax, outs, strict=True):
        shape[a] = o
    out = np.empty(shape, dtype)
    div = _divisor_map(divs, len(shape), sax).astype(dtype) if mode == "avg" else None
    reduce = np.maximum if mode == "max" else np.add
    last = geo.axes[-1]
    row_bytes = math.prod(shape[1:]) // outs[0] * dtype.itemsize
    blocks = list(_blocks.plan(xa.shape[0], outs[0], row_bytes, _blocks.tap_limit()))
    # the last axis' taps in one reduce over a window view where a block has few outputs for its
    # kernel (one call per tap costs more than the outputs it adds; a global pool): see WINDOW_TAPS
    most = max((b[1] - b[0]) * (b[3] - b[2]) for b in blocks) * row_bytes // dtype.itemsize
    windowed = last.kernel > WINDOW_TAPS and most < WINDOW_OUTPUTS_PER_TAP * last.kernel
    if windowed:  # the accumulator and a temporary
        blocks = list(_blocks.plan(xa.shape[0], outs[0], 2 * row_bytes, _blocks.tap_limit()))
    inner = (None,) if windowed else range(last.kernel)

    def work(block: tuple[int, int, int, int]) -> None:
        n0, n1, r0, r1 = block
        index: list[slice] = [slice(None)] * out.ndim
        index[0] = slice(n0, n1)
        index[sax[0]] = slice(r0, r1)
        acc = out[tuple(index)]
        tmp = np.empty_like(acc) if windowed else None
        first = True
        for lead in itertools.product(*(range(a.kernel) for a in geo.axes[:-1])):  # lazily: no list
            for k in inner:
                for i, (a, t) in enumerate(zip(geo, (*lead, k or 0), strict=True)):
                    lo = t * a.dilation + (r0 * a.stride if i == 0 else 0)
                    count = (r1 - r0) if i == 0 else a.output
                    index[sax[i]] = slice(lo, lo + (count - 1) * a.stride + 1, a.stride)
                view = xp[tuple(index)]
                if tmp is not None:  # windowed: append the last axis' taps as a trailing axis, reduce it away
                    step = xp.strides[sax[-1]] * last.dilation
                    view = np.lib.stride_tricks.as_strided(
                        view, (*view.shape, last.kernel), (*view.strides, step), writeable=False)
                    reduce.reduce(view, axis=-1, out=acc if first else tmp)
                    if not first:
                        reduce(acc, tmp, out=acc)
                elif first:
                    acc[...] = view
                else:
                    reduce(acc, view, out=acc)
                first = False
        if div is not None:
            acc /= div[r0:r1]

    _blocks.run(blocks, work)
    return out if was_batched else out[0]
