"""N-D convolution (cross-correlation, as every framework computes it): pad, window view, GEMM.

>>> import numpy as np
>>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
>>> conv(x, np.ones((1, 1, 3, 3), np.float32), stride=2, padding="same")[0, 0]
array([[45., 39.],
       [66., 50.]], dtype=float32)

How it is computed (channels first; channels last is read and written through transposed views,
so it costs no extra pass):

1. the work is split into blocks of images × output rows (:mod:`padstride.engine._blocks`);
2. the input is padded into a flat buffer (pads from :func:`padstride.geometry.conv`): on the
   GEMM paths, where the blocks hold whole images, each block pads its own images when it starts
   (on its thread, and in cache for the next step: 56² C64 s1, one thread, ~13% less time than
   one padded copy up front); otherwise the whole input is padded once;
3. a strided view (``as_strided``, no copy) exposes, for every output position, the input
   cells under every kernel tap;
4. per block, that view is copied into im2col columns ``(groups, C_in/groups · k…, positions)``
   and multiplied by the weights in one batched GEMM.

With all strides 1 the view is *wide*: output positions are taken as a flat range of the padded
buffer (the row tails past the output width are computed and dropped, a fraction (K−1)/W), so
each column row is one contiguous run; in 2-D with enough channels (``SHIFTED_MIN_K``) only the
last axis' taps are copied, and one GEMM per tap of the first axis reads a shifted window of those
columns (a third of the copying for 3×3); where a block holds whole images and the output is
channels first, those columns keep only the output's columns and the GEMMs write straight into
the output (no row tails, no copy of the result).

With few GEMM rows (C_in/groups · k… < ``SHIFTED_MIN_K``: the GEMM is bound by writing its
result) and a channels-first output, the columns hold exact positions instead, one image at a
time, and each GEMM writes straight into the output (no row tails, no copy of the result).

With a stride above 1 and many input channels per group (C_in/groups · k of the last axis ≥
``CHANNELS_LAST_MIN_K``) the input is padded channels-last instead, (N, *spatial, C), the
transpose riding on the padding copy: one output position's taps of the last axis are then one
run of k · C_in values, where channels first they are single values a stride apart. The columns
are (groups, positions, k… · C_in/groups), and the GEMM columns × weights gives
(positions, C_out/groups), written through a transposed view of the output.

Depthwise convolutions (one input channel per group) skip the GEMM: the input is padded
channel-major (C, N, *spatial), and per channel a loop over the kernel taps multiplies one view
(with stride 1: one flat run over its images) by a scalar weight and adds it to an accumulator.

Memory: beside the output (and the padded copy of the input, where blocks do not pad their own
images), one block's buffers (its padded images, columns, GEMM result and, on the shifted path,
the accumulator temporary) hold at most ``padstride.engine.BLOCK_BYTES`` (8 MiB by default; never
less than one output row of one image); the depthwise accumulator and its temporary hold at most
``min(BLOCK_BYTES, TAP_BYTES)`` (2 MiB; never less than one image of one channel). One block per
worker thread at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import geometry
from ..geometry import PaddingError
from . import _blocks
from ._layout import operands
from .padding import pad_into, pad_mode

__all__ = ["conv", "padded_buffer"]

DEPTHWISE_TAPS = True
#: Strided convolutions whose input channels per group times the last kernel axis (C_in/groups · k)
#: reach this take their im2col from a channels-last padded copy, where each tap's channels are one
#: contiguous run (56² C64→128 k3 s2, 2 threads: 37 → 28 ms in the engine benchmark with malloc kept
#: from returning memory, ~6% alone; with stride 1 the channels-first wide view already copies whole
#: rows, and its shifted GEMM measured ~10% faster than a channels-last one).
CHANNELS_LAST_MIN_K = 128
#: 2-D stride-1 convolutions with at least this many GEMM rows per tap of the first axis
#: (C_in/groups · k of the last axis) copy only the last axis' taps and run one GEMM per tap of the
#: first axis (56² C64 k3: 7% faster; 224² C3 k3, K = 9: much slower, so it keeps one GEMM).
SHIFTED_MIN_K = 128
#: Convolutions on the general path with few GEMM rows (C_in/groups · k… < SHIFTED_MIN_K: the GEMM
#: is bound by writing its result) and a channels-first output run one GEMM per image straight
#: into the output: exact positions, no row tails, no copy of the result (224² C3→32: ~10% faster).
DIRECT_OUTPUT = True
#: Depthwise blocks run on threads only when each NumPy call covers at least this many elements
#: (shorter calls spend more time handing over the GIL than they gain; measured on 2 cores).
PARALLEL_ELEMENTS = 1 << 17


def padded_buffer(
    x: np.ndarray, pads: Sequence[tuple[int, int]], dtype: np.dtype, mode: str, slack: int = 0,
    channels_last: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Flat buffer holding ``x`` (N, C, *spatial) padded on its spatial axes, plus its N-D view.

    ``slack`` zeroed elements follow the data, so wide views may run past the last row.
    ``channels_last``: the buffer is laid out (N, *spatial, C) (the view is still (N, C, *spatial)).
    """
    nd = len(pads)
    shape = x.shape[:2] + tuple(n + b + a for n, (b, a) in zip(x.shape[2:], pads, strict=True))
    size = math.prod(shape)
    buf = np.empty(size + slack, dtype)
    buf[size:] = 0
    if channels_last:
        view = np.moveaxis(buf[:size].reshape(shape[:1] + shape[2:] + shape[1:2]), -1, 1)
    else:
        view = buf[:size].reshape(shape)
    pad_into(x, pads, view, tuple(range(2, 2 + nd)), mode, 0.0)
    return buf, view


def _weights(w: np.ndarray, layout: str, nd: int) -> np.ndarray:
    """Weights as (C_out, C_in/groups, *k) from either layout."""
    if w.ndim != nd + 2:
        raise PaddingError(f"weight has {w.ndim} axes, expected {nd + 2}")
    if layout == "channels_last":  # (*k, C_in/groups, C_out)
        return np.moveaxis(w, (nd + 1, nd), (0, 1))
    return w


def conv(
    x: object,
    w: object,
    bias: object = None,
    stride: int | Sequence[int] = 1,
    padding: object = "valid",
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    padding_mode: str = "constant",
    layout: str = "channels_first",
) -> np.ndarray:
    """1-D, 2-D or 3-D convolution in any padding convention; the number of axes comes from ``w``.

    ``channels_first``: x ``(N, C, *spatial)``, w ``(C_out, C_in/groups, *k)`` (PyTorch).
    ``channels_last``: x ``(N, *spatial, C)``, w ``(*k, C_in/groups, C_out)`` (TF/Keras).
    The batch axis is optional. ``padding`` is any spec of :class:`padstride.geometry.Padding`
    (``valid``, ``same``, ``same_lower``, ``torch_same``, ``full``, ``causal``, ints or
    ``(before, after)`` pairs, negative = crop); ``padding_mode`` any mode of
    :func:`padstride.engine.pad` (PyTorch's ``zeros``/``replicate`` too). dtype follows
    ``np.result_type(x, w)``.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((2, 7, 7, 4), np.float32)
    >>> w = np.ones((3, 3, 2, 6), np.float32)
    >>> conv(x, w, stride=2, padding="same", groups=2, layout="channels_last").shape
    (2, 4, 4, 6)
    """
    xf, wa, nd, layout, was_batched = operands(x, w, layout, "C_out, C_in")
    wt = _weights(wa, layout, nd)
    n, c = xf.shape[:2]
    co, cg = wt.shape[:2]
    ks = wt.shape[2:]
    if groups < 1 or c % groups or co % groups or c // groups != cg:
        raise PaddingError(
            f"groups={groups} does not fit {c} input channels and weight {tuple(wa.shape)} "
            f"(expects C_in/groups = {cg} input channels per group and C_out divisible by groups)"
        )
    geo = geometry.conv(xf.shape[2:], ks, stride, padding, dilation)
    dtype = np.result_type(xf.dtype, wa.dtype) if bias is None else np.result_type(xf, wa, np.asarray(bias))
    b = None if bias is None else np.asarray(bias, dtype).reshape(groups, co // groups)
    out_last = layout == "channels_last"
    outs = geo.output
    out = np.empty((n, *outs, co) if out_last else (n, co, *outs), dtype)
    og = (np.moveaxis(out, -1, 1) if out_last else out).reshape(n, groups, co // groups, *outs)
    _conv_into(xf, wt.astype(dtype, copy=False), b, geo, groups, pad_mode(padding_mode), og)
    return out if was_batched else out[0]


def _conv_into(
    xf: np.ndarray,
    wt: np.ndarray,
    bias: np.ndarray | None,
    geo: geometry.Geometry,
    groups: int,
    mode: str,
    og: np.ndarray,
) -> None:
    n, c = xf.shape[:2]
    co, cg = wt.shape[:2]
    ks = wt.shape[2:]
    nd, outs = len(ks), geo.output
    ss = tuple(a.stride for a in geo)
    ds = tuple(a.dilation for a in geo)
    dtype, it = wt.dtype, wt.dtype.itemsize
    padded = tuple(a.padded_input for a in geo)
    ps = tuple(math.prod(padded[i + 1:]) for i in range(nd))  # element strides of the padded axes
    pt = math.prod(padded)
    wide = all(s == 1 for s in ss)
    taps = tuple(d * p for d, p in zip(ds, ps, strict=True))
    steps = tuple(s * p for s, p in zip(ss, ps, strict=True))
    if cg == 1 and groups > 1 and DEPTHWISE_TAPS:  # channel-major buffer: one channel is one contiguous run
        buf, _ = padded_buffer(xf.swapaxes(0, 1), geo.pads, dtype, mode, slack=ps[0] if wide else 0)
        _depthwise(buf, wt, bias, og, padded, taps, steps, wide)
        return
    if not wide and cg * ks[-1] >= CHANNELS_LAST_MIN_K:
        _channels_last_gemm(xf, wt, bias, geo, groups, mode, og)
        return
    head = (c * pt, cg * pt, pt)
    cog = co // groups
    kk = math.prod(ks)
    w3 = wt.reshape(groups, cog, cg * kk)
    shifted = wide and nd == 2 and ks[0] > 1 and cg * ks[1] >= SHIFTED_MIN_K
    flat_out = og.strides[-1] == it and all(og.strides[i] == og.strides[i + 1] * og.shape[i + 1]
                                            for i in range(3, og.ndim - 1))  # channels first
    direct = DIRECT_OUTPUT and not shifted and cg * kk < SHIFTED_MIN_K and flat_out
    wide = wide and not direct  # the GEMM writes exact positions straight into the output
    slack = ps[0] if wide else 0
    row_cols = ps[0] if wide else math.prod(outs[1:])

    def windows(buf: np.ndarray, images: int) -> np.ndarray:
        if wide:
            return as_strided(buf, (images, groups, cg, *ks, outs[0] * ps[0]),
                              tuple(v * it for v in (*head, *taps, 1)), writeable=False)
        return as_strided(buf, (images, groups, cg, *ks, *outs), tuple(v * it for v in (*head, *taps, *steps)),
                          writeable=False)

    # 2-D, stride 1: im2col of the last axis' taps only, one GEMM per tap of the first axis on a
    # shifted window of those columns (a third of the copying for 3×3)
    wl = np.ascontiguousarray(np.moveaxis(wt.reshape(groups, cog, cg, ks[0], ks[1]), 3, 0)).reshape(
        ks[0], groups, cog, cg * ks[1]) if shifted else w3
    if shifted:  # columns of the last axis' taps (plus the first axis' extra rows), result, temporary
        extra = (ks[0] - 1) * taps[0] * c * ks[1] * it
        blocks, own_pad = _pad_plan(n, outs[0], (c * ks[1] + 2 * co) * ps[0] * it, (c * pt + slack) * it, extra)
    else:
        blocks, own_pad = _pad_plan(n, outs[0], (c * kk + co) * row_cols * it, (c * pt + slack) * it)
    if not own_pad:
        whole = padded_buffer(xf, geo.pads, dtype, mode, slack=slack)[0]

    def work(block: tuple[int, int, int, int]) -> None:
        n0, n1, r0, r1 = block
        nb, rows = n1 - n0, r1 - r0
        buf, first = (padded_buffer(xf[n0:n1], geo.pads, dtype, mode, slack=slack)[0], 0) if own_pad else (whole, n0)
        if shifted and DIRECT_OUTPUT and flat_out and r0 == 0 and r1 == outs[0]:
            _shifted_into(buf, wl, first * head[0], og[n0:n1], head, padded, ds, bias)
            return
        if shifted:
            res = _shifted_gemm(buf, wl, (first * head[0] + r0 * ps[0], nb, rows * ps[0]), head, taps, groups, cg, it)
        else:
            view = windows(buf, first + nb)
            if wide:
                part = view[first:, ..., r0 * ps[0]:r1 * ps[0]]
            else:
                part = view[(slice(first, None), Ellipsis, slice(r0, r1)) + (slice(None),) * (nd - 1)]
            if direct:  # one GEMM per image (batched over groups), written into the output
                cols = np.empty((groups, cg * kk, rows * row_cols), dtype)
                for i in range(nb):
                    np.copyto(cols.reshape(part.shape[1:]), part[i])
                    target = og[n0 + i, :, :, r0:r1].reshape(groups, cog, rows * row_cols)
                    np.matmul(w3, cols, out=target)
                    if bias is not None:
                        target += bias[:, :, None]
                return
            cols = np.moveaxis(part, 0, 2 + nd).reshape(groups, cg * kk, nb * rows * row_cols)
            res = np.matmul(w3, cols)
        if bias is not None:
            res += bias[:, :, None]
        if wide:
            res5 = res.reshape(groups, cog, nb, rows, *padded[1:])[(..., *(slice(0, o) for o in outs[1:]))]
        else:
            res5 = res.reshape(groups, cog, nb, rows, *outs[1:])
        og[n0:n1, :, :, r0:r1] = np.moveaxis(res5, 2, 0)

    _blocks.run(blocks, work)


def _pad_plan(
    n: int, rows: int, row_bytes: int, image_bytes: int, extra: int = 0
) -> tuple[list[tuple[int, int, int, int]], bool]:
    """Blocks, and whether each pads its own images: yes where blocks that also hold their padded
    images (``image_bytes`` each) still hold whole images (one pass less over memory, and one
    thread's copies overlap the others' GEMMs); else blocks for one padded copy of the input.
    ``extra``: bytes a block needs beside its rows."""
    limit = max(1, _blocks.BLOCK_BYTES - extra)
    blocks = list(_blocks.plan(n, rows, row_bytes + math.ceil(image_bytes / rows), limit))
    if all(r0 == 0 and r1 == rows for _, _, r0, r1 in blocks):
        return blocks, True
    return list(_blocks.plan(n, rows, row_bytes, limit)), False


def _channels_last_gemm(
    xf: np.ndarray,
    wt: np.ndarray,
    bias: np.ndarray | None,
    geo: geometry.Geometry,
    groups: int,
    mode: str,
    og: np.ndarray,
) -> None:
    """im2col from an (N, *spatial, C) padded copy: columns (groups, positions, k… · C_in/groups).

    With one group and no dilation along the last axis, one column's taps of the last axis are one
    run of k · C_in values, so even a strided window copies long runs; the GEMM positions × weights
    gives (positions, C_out/groups) per group, written into ``og`` through a transposed view.
    """
    n, c = xf.shape[:2]
    co, cg = wt.shape[:2]
    ks = wt.shape[2:]
    nd, outs = len(ks), geo.output
    cog, kk = co // groups, math.prod(ks)
    it = wt.dtype.itemsize
    padded = tuple(a.padded_input for a in geo)
    ps = tuple(math.prod(padded[i + 1:]) * c for i in range(nd))  # element strides of the padded axes
    pt = math.prod(padded)
    wt5 = wt.reshape(groups, cog, cg, *ks)
    steps = tuple(a.stride * p for a, p in zip(geo, ps, strict=True))
    taps = tuple(a.dilation * p for a, p in zip(geo, ps, strict=True))
    wc = np.ascontiguousarray(np.moveaxis(wt5, (1, 2), (-1, -2))).reshape(groups, kk * cg, cog)
    row_cols = math.prod(outs[1:])
    row = (c * kk + co) * row_cols * it

    def windows(buf: np.ndarray, images: int) -> np.ndarray:
        return as_strided(buf, (groups, images, *outs, *ks, cg),
                          tuple(v * it for v in (cg, pt * c, *steps, *taps, 1)), writeable=False)

    blocks, own_pad = _pad_plan(n, outs[0], row, pt * c * it)
    if not own_pad:
        view = windows(padded_buffer(xf, geo.pads, wt.dtype, mode, channels_last=True)[0], n)

    def work(block: tuple[int, int, int, int]) -> None:
        n0, n1, r0, r1 = block
        nb, rows = n1 - n0, r1 - r0
        if own_pad:
            src = windows(padded_buffer(xf[n0:n1], geo.pads, wt.dtype, mode, channels_last=True)[0], nb)
        else:
            src = view[:, n0:n1, r0:r1]
        cols = np.empty((groups, nb * rows * row_cols, kk * cg), wt.dtype)
        np.copyto(cols.reshape(groups, nb, rows, *outs[1:], *ks, cg), src)
        res = np.matmul(cols, wc)
        if bias is not None:
            res += bias[:, None, :]
        res5 = res.reshape(groups, nb, rows, *outs[1:], cog)
        og[n0:n1, :, :, r0:r1] = np.moveaxis(res5, (1, 0, -1), (0, 1, 2))

    _blocks.run(blocks, work)


def _shifted_gemm(
    buf: np.ndarray,
    wl: np.ndarray,
    span: tuple[int, int, int],
    head: tuple[int, int, int],
    taps: tuple[int, ...],
    groups: int,
    cg: int,
    it: int,
) -> np.ndarray:
    """Wide 2-D GEMM of ``nb`` images from ``start``: (groups, C_out/groups, nb · positions)."""
    start, nb, size = span
    k0, _, cog, ck1 = wl.shape
    k1 = ck1 // cg
    q = size + (k0 - 1) * taps[0]
    src = as_strided(buf[start:], (groups, cg, k1, nb, q),
                     (head[1] * it, head[2] * it, taps[1] * it, head[0] * it, it), writeable=False)
    cols = np.empty((groups, cg * k1, nb, q), buf.dtype)
    np.copyto(cols.reshape(src.shape), src)
    res = np.empty((groups, cog, nb, size), buf.dtype)
    tmp = np.empty((groups, cog, size), buf.dtype)
    for i in range(nb):
        _sum_tap_gemms(wl, lambda t, i=i: cols[:, :, i, t * taps[0]:t * taps[0] + size], res[:, :, i], tmp)
    return res.reshape(groups, cog, nb * size)


def _sum_tap_gemms(wl: np.ndarray, columns: Callable[[int], np.ndarray], out: np.ndarray, tmp: np.ndarray) -> None:
    """``out = Σ_t wl[t] @ columns(t)`` over the first axis' taps: the first GEMM writes ``out``, the
    others go through ``tmp`` and are added (NumPy's matmul cannot accumulate)."""
    for t in range(wl.shape[0]):
        if t == 0:
            np.matmul(wl[0], columns(0), out=out)
        else:
            np.matmul(wl[t], columns(t), out=tmp)
            out += tmp


def _shifted_into(
    buf: np.ndarray,
    wl: np.ndarray,
    start: int,
    og: np.ndarray,
    head: tuple[int, int, int],
    padded: tuple[int, ...],
    dilation: tuple[int, ...],
    bias: np.ndarray | None,
) -> None:
    """:func:`_shifted_gemm` on exact columns, written straight into ``og`` (nb, groups, C_out/groups, H, W).

    Per image, the last axis' taps are copied for every padded row but only the output's columns,
    so the GEMM of first-axis tap ``t`` reads the flat range of rows ``t·d … t·d + H − 1`` and its
    result is the output itself: no row tails and no copy of the result.
    """
    nb, groups, cog, ho, wo = og.shape
    ck1 = wl.shape[-1]
    cg, it = head[1] // head[2], buf.dtype.itemsize
    k1, rows = ck1 // cg, padded[0]
    cols = np.empty((groups, ck1, rows * wo), buf.dtype)
    tmp = np.empty((groups, cog, ho * wo), buf.dtype)
    for i in range(nb):
        src = as_strided(buf[start + i * head[0]:], (groups, cg, k1, rows, wo),
                         tuple(v * it for v in (head[1], head[2], dilation[1], padded[1], 1)), writeable=False)
        np.copyto(cols.reshape(src.shape), src)
        out = og[i].reshape(groups, cog, ho * wo)
        _sum_tap_gemms(wl, lambda t: cols[:, :, t * dilation[0] * wo:t * dilation[0] * wo + ho * wo], out, tmp)
        if bias is not None:
            out += bias[:, :, None]


def _depthwise(
    buf: np.ndarray,
    wt: np.ndarray,
    bias: np.ndarray | None,
    og: np.ndarray,
    padded: tuple[int, ...],
    taps: tuple[int, ...],
    steps: tuple[int, ...],
    wide: bool,
) -> None:
    """One input channel per group: per channel, multiply-accumulate one view per kernel tap.

    ``buf`` is channel-major (C, N, *padded), so a channel's images are one run of memory and every
    tap is a multiply by a scalar weight (NumPy's fastest loop) plus an add, on an accumulator of at
    most :func:`padstride.engine._blocks.tap_limit` bytes (with ``tmp``), i.e. in cache. With
    all strides 1 the view is wide (one flat range per block of images; row tails dropped).
    """
    n, groups, cog, *outs = og.shape
    ks = wt.shape[2:]
    it = wt.dtype.itemsize
    pt = math.prod(padded)
    wk = wt.reshape(groups, cog, -1)
    offsets = [sum(t * p for t, p in zip(idx, taps, strict=True)) for idx in np.ndindex(*ks)]
    keep = tuple(slice(0, o) for o in outs)

    if wide:  # a block's positions: one flat range over its images' padded grids (row tails dropped)
        shape: tuple[int, ...] = (pt,)
        views = [buf[off:] for off in offsets]
    else:
        shape = tuple(outs)
        views = [as_strided(buf[off:], (groups, n, *outs), (n * pt * it, pt * it, *(s * it for s in steps)),
                            writeable=False) for off in offsets]

    def work(block: tuple[int, int, int, int]) -> None:
        g0, g1, n0, n1 = block
        nb = n1 - n0
        acc, tmp = np.empty((2, nb, *shape), wt.dtype)
        span = (nb - 1) * pt + outs[0] * (pt // padded[0])  # wide: the last image stops after its last output row
        acc_v, tmp_v = (acc.reshape(-1)[:span], tmp.reshape(-1)[:span]) if wide else (acc, tmp)
        res = acc.reshape(nb, *padded)[(slice(None), *keep)] if wide else acc
        for g in range(g0, g1):
            start = (g * n + n0) * pt
            for k in range(cog):
                for t, view in enumerate(views):
                    v = view[start:start + span] if wide else view[g, n0:n1]
                    if t == 0:
                        np.multiply(v, wk[g, k, t], out=acc_v)
                    else:
                        np.multiply(v, wk[g, k, t], out=tmp_v)
                        np.add(acc_v, tmp_v, out=acc_v)
                if bias is None:
                    og[n0:n1, g, k] = res
                else:
                    np.add(res, bias[g, k], out=og[n0:n1, g, k])

    row = 2 * math.prod(shape) * it  # acc + tmp of one image
    blocks = list(_blocks.plan(groups, n, row, _blocks.tap_limit()))
    op = max((b[3] - b[2]) * math.prod(shape) for b in blocks)  # elements per NumPy call
    _blocks.run(blocks, work, parallel=op >= PARALLEL_ELEMENTS)
