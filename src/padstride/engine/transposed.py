"""N-D transposed convolution: one GEMM per block, then a loop over kernel taps that adds each
tap's contribution into the (cropped) output through a strided view.

>>> import numpy as np
>>> x = np.ones((1, 1, 3), np.float32)
>>> conv_transpose(x, np.ones((1, 1, 3), np.float32), stride=2)[0, 0]
array([1., 1., 2., 1., 2., 1., 1.], dtype=float32)
>>> conv_transpose(x, np.ones((1, 1, 3), np.float32), stride=2, padding=1, output_padding=1).shape
(1, 1, 6)

Explicit pads follow PyTorch (``padding`` crops both ends of the full output ``(n−1)·s + K``,
``output_padding`` extends the end); ``same``/``valid`` follow Keras (``rule="keras"``: TF's
placement; ``"keras_torch"``: what Keras 3 computes on its torch backend; ``"onnx"``: ONNX
``auto_pad``). Every size and crop comes from :func:`padstride.geometry.conv_transpose`.
Memory: the GEMM result of a block (``C_out·k… × positions``) holds at most
``padstride.engine.BLOCK_BYTES`` (never less than one input row of one image and one tap of the
first kernel axis: a long kernel's taps are split along that axis). Only the taps that can reach
the output are computed, and taps are generated lazily, never listed; where a block has more taps
than inputs (a huge kernel over a small input) the scatter loops over the inputs instead, each
adding its whole run of taps through one strided view.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from .. import geometry
from ..geometry import PaddingError
from . import _blocks
from ._layout import operands

__all__ = ["conv_transpose"]


def _tap_range(n: int, out: int, stride: int, start: int, lo: int, hi: int) -> tuple[int, int]:
    """Inputs ``i`` in ``[lo, hi)`` whose output ``i·stride + start`` lies in ``[0, out)``."""
    first = max(lo, -(start // stride) if start < 0 else 0)
    last = min(hi, n, (out - 1 - start) // stride + 1)
    return first, max(first, last)


def conv_transpose(
    x: object,
    w: object,
    bias: object = None,
    stride: int | Sequence[int] = 1,
    padding: object = 0,
    output_padding: int | Sequence[int] | None = None,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    layout: str = "channels_first",
    rule: str = "keras",
    output_size: int | Sequence[int] | None = None,
) -> np.ndarray:
    """1-D, 2-D or 3-D transposed convolution (the gradient of :func:`padstride.engine.conv`).

    ``channels_first``: x ``(N, C_in, *spatial)``, w ``(C_in, C_out/groups, *k)`` (PyTorch).
    ``channels_last``: x ``(N, *spatial, C_in)``, w ``(*k, C_out/groups, C_in)`` (Keras).
    ``output_padding=None`` means 0 for explicit pads and Keras' default for ``same``/``valid``.

    >>> import numpy as np
    >>> x = np.ones((1, 4, 4, 2), np.float32)
    >>> conv_transpose(x, np.ones((3, 3, 5, 2), np.float32), stride=2, padding="same",
    ...                layout="channels_last").shape
    (1, 8, 8, 5)
    """
    xf, wa, nd, layout, was_batched = operands(x, w, layout, "C_in, C_out")
    wt = np.moveaxis(wa, (nd + 1, nd), (0, 1)) if layout == "channels_last" else wa
    n, c = xf.shape[:2]
    cog, ks = wt.shape[1], wt.shape[2:]
    if groups < 1 or c % groups or wt.shape[0] != c:
        raise PaddingError(
            f"groups={groups} does not fit {c} input channels and weight {tuple(wa.shape)} "
            "(expects C_in weights, C_in divisible by groups)"
        )
    geo = geometry.conv_transpose(xf.shape[2:], ks, stride, padding, output_padding, dilation, rule, output_size)
    dtype = np.result_type(xf.dtype, wa.dtype) if bias is None else np.result_type(xf, wa, np.asarray(bias))
    co, outs, cig = cog * groups, geo.output, c // groups
    out = np.empty((n, *outs, co) if layout == "channels_last" else (n, co, *outs), dtype)
    og = (np.moveaxis(out, -1, 1) if layout == "channels_last" else out).reshape(n, groups, cog, *outs)
    og[...] = 0 if bias is None else np.asarray(bias, dtype).reshape((groups, cog) + (1,) * nd)
    ins = xf.shape[2:]
    # per axis, the taps that can reach the output at all: k·d − pad_before + i·s in [0, out) for
    # some input i (a huge kernel over a small, cropped input computes only these)
    kranges = [(max(0, -(((a.input - 1) * a.stride - a.pad_before) // a.dilation)),
                min(a.kernel, (a.output - 1 + a.pad_before) // a.dilation + 1)) for a in geo]
    box = [max(hi - lo, 0) for lo, hi in kranges]
    if 0 in box:
        return out if was_batched else out[0]  # no tap reaches the output: bias only
    inner = math.prod(box[1:])  # taps per tap index of the first kernel axis
    # (C_in, C_out/G, box…): the reaching taps of the weights, a view
    wbox = wt[(slice(None), slice(None), *(slice(lo, hi) for lo, hi in kranges))]
    xg = xf.reshape(n, groups, cig, *ins)
    row = math.prod(ins[1:])
    blocks = list(_blocks.plan(n, ins[0], (cig + cog * box[0] * inner) * groups * row * dtype.itemsize))
    positions = max((b[1] - b[0]) * (b[3] - b[2]) * row for b in blocks)
    # the GEMM result of a block holds at most BLOCK_BYTES: split the first kernel axis' taps
    per = max(1, _blocks.BLOCK_BYTES // (groups * cog * inner * positions * dtype.itemsize))
    chunks = [(c, min(c + per, box[0])) for c in range(0, box[0], per)]

    def weights(c0: int, c1: int) -> np.ndarray:
        """(G, C_out/G · taps, C_in/G) of taps ``c0 … c1−1`` of the first axis: cols = W^T · x."""
        part = wbox[:, :, c0:c1].astype(dtype, copy=False).reshape(groups, cig, cog * (c1 - c0) * inner)
        return np.ascontiguousarray(part.transpose(0, 2, 1))

    whole = weights(0, box[0]) if len(chunks) == 1 else None  # made once, not per block

    def scatter_taps(res: np.ndarray, c0: int, c1: int, n0: int, n1: int, r0: int, r1: int) -> None:
        """Add each tap's contribution over all the block's inputs (few taps, many inputs)."""
        ranges = [range(kranges[0][0] + c0, kranges[0][0] + c1), *(range(lo, hi) for lo, hi in kranges[1:])]
        for t, tap in enumerate(itertools.product(*ranges)):  # lazily: no list of taps
            src: list[slice] = [slice(None)] * (nd + 1)
            dst: list[slice] = [slice(n0, n1), slice(None), slice(None)]
            empty = False
            for i, (a, k) in enumerate(zip(geo, tap, strict=True)):
                start = k * a.dilation - a.pad_before
                lo, hi = _tap_range(a.input, a.output, a.stride, start, r0 if i == 0 else 0,
                                    r1 if i == 0 else a.input)
                empty |= hi <= lo
                src[i + 1] = slice(lo - r0, hi - r0) if i == 0 else slice(lo, hi)
                o = lo * a.stride + start
                dst.append(slice(o, o + (hi - lo - 1) * a.stride + 1, a.stride))
            if not empty:
                og[tuple(dst)] += np.moveaxis(res[:, :, t], 2, 0)[(slice(None), slice(None), *src)]

    def scatter_inputs(res: np.ndarray, c0: int, c1: int, n0: int, n1: int, r0: int, r1: int) -> None:
        """Add each input's contribution over all the chunk's taps (many taps, few inputs)."""
        rv = res.reshape(groups, cog, c1 - c0, *box[1:], n1 - n0, r1 - r0, *ins[1:])
        firsts = [kranges[0][0] + c0, *(lo for lo, _ in kranges[1:])]
        lasts = [kranges[0][0] + c1, *(hi for _, hi in kranges[1:])]
        for b in range(n1 - n0):
            for pos in itertools.product(range(r1 - r0), *(range(m) for m in ins[1:])):
                src: list[int | slice] = [slice(None), slice(None)]
                dst: list[int | slice] = [n0 + b, slice(None), slice(None)]
                for i, (a, ka, kb) in enumerate(zip(geo, firsts, lasts, strict=True)):
                    base = (pos[0] + r0 if i == 0 else pos[i]) * a.stride - a.pad_before
                    k0 = max(ka, -(base // a.dilation))  # first tap landing at >= 0
                    k1 = min(kb, (a.output - 1 - base) // a.dilation + 1)
                    if k1 <= k0:
                        break
                    src.append(slice(k0 - ka, k1 - ka))
                    o = base + k0 * a.dilation
                    dst.append(slice(o, o + (k1 - k0 - 1) * a.dilation + 1, a.dilation))
                else:
                    og[tuple(dst)] += rv[(*src, b, *pos)]

    def work(group: list[tuple[int, int, int, int]]) -> None:
        for n0, n1, r0, r1 in group:  # row blocks of one image group write overlapping rows: in order
            nb, rows = n1 - n0, r1 - r0
            part = xg[n0:n1, :, :, r0:r1]
            cols = np.moveaxis(part, 0, 2).reshape(groups, cig, nb * rows * row)
            for c0, c1 in chunks:
                wg = whole if whole is not None else weights(c0, c1)
                res = np.matmul(wg, cols).reshape(groups, cog, (c1 - c0) * inner, nb, rows, *ins[1:])
                scatter = scatter_inputs if (c1 - c0) * inner > nb * rows * row else scatter_taps
                scatter(res, c0, c1, n0, n1, r0, r1)

    groups_of_blocks: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    for block in blocks:
        groups_of_blocks.setdefault(block[:2], []).append(block)
    _blocks.run(list(groups_of_blocks.values()), work)
    return out if was_batched else out[0]
