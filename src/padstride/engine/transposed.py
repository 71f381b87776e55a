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
``padstride.engine.BLOCK_BYTES`` (never less than one input row of one image).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from .. import geometry
from ..geometry import PaddingError
from . import _blocks
from ._layout import batched, channels_first_view, check_layout

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
    xa, wa = np.asarray(x), np.asarray(w)
    nd = wa.ndim - 2
    if nd < 1:
        raise PaddingError(f"weight needs at least 3 axes (C_in, C_out/groups, k), got shape {wa.shape}")
    layout = check_layout(layout)
    wt = np.moveaxis(wa, (nd + 1, nd), (0, 1)) if layout == "channels_last" else wa
    xb, was_batched = batched(xa, nd)
    xf = channels_first_view(xb, nd, layout)
    n, c = xf.shape[:2]
    cog, ks = wt.shape[1], wt.shape[2:]
    if groups < 1 or c % groups or wt.shape[0] != c:
        raise PaddingError(
            f"groups={groups} does not fit {c} input channels and weight {tuple(wa.shape)} "
            "(expects C_in weights, C_in divisible by groups)"
        )
    geo = geometry.conv_transpose(xf.shape[2:], ks, stride, padding, output_padding, dilation, rule, output_size)
    dtype = np.result_type(xa.dtype, wa.dtype) if bias is None else np.result_type(xa, wa, np.asarray(bias))
    co, outs, cig = cog * groups, geo.output, c // groups
    out = np.empty((n, *outs, co) if layout == "channels_last" else (n, co, *outs), dtype)
    og = (np.moveaxis(out, -1, 1) if layout == "channels_last" else out).reshape(n, groups, cog, *outs)
    og[...] = 0 if bias is None else np.asarray(bias, dtype).reshape((groups, cog) + (1,) * nd)
    kk = math.prod(ks)
    # (G, C_out/G · k…, C_in/G): each group's weights, transposed for cols = W^T · x
    wg = np.ascontiguousarray(
        wt.astype(dtype, copy=False).reshape(groups, cig, cog * kk).transpose(0, 2, 1)
    )
    ins = xf.shape[2:]
    xg = xf.reshape(n, groups, cig, *ins)
    row = math.prod(ins[1:])
    taps = list(itertools.product(*(range(k) for k in ks)))

    def work(blocks: list[tuple[int, int, int, int]]) -> None:
        for n0, n1, r0, r1 in blocks:  # row blocks of one image group write overlapping rows: in order
            nb, rows = n1 - n0, r1 - r0
            part = xg[n0:n1, :, :, r0:r1]
            cols = np.moveaxis(part, 0, 2).reshape(groups, cig, nb * rows * row)
            res = np.matmul(wg, cols).reshape(groups, cog, kk, nb, rows, *ins[1:])
            for t, tap in enumerate(taps):
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

    groups_of_blocks: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    for block in _blocks.plan(n, ins[0], (cig + cog * kk) * groups * row * dtype.itemsize):
        groups_of_blocks.setdefault(block[:2], []).append(block)
    _blocks.run(list(groups_of_blocks.values()), work)  # type: ignore[arg-type]
    return out if was_batched else out[0]
