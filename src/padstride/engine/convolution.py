"""N-D convolution (cross-correlation, as every framework computes it), fast and within a memory bound.

>>> import numpy as np
>>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
>>> conv(x, np.ones((1, 1, 3, 3), np.float32), stride=2, padding="same")[0, 0]
array([[45., 39.],
       [66., 50.]], dtype=float32)

What a convolution *is* reads in :func:`padstride.engine.reference.conv`: pad, strided window view,
contraction. This module computes the same numbers without holding every window at once:
:func:`padstride.engine.plan.plan` picks one :class:`~padstride.engine.plan.Path` and splits the
work into blocks of images × output rows (:mod:`padstride.engine._blocks`); each path below is one
function. All of them work channels first; a channels-last input or output is read and written
through a transposed view, so it costs no extra pass.

- the input is padded into a flat buffer (pads from :func:`padstride.geometry.conv`): where the
  blocks hold whole images each block pads its own images on its thread, else the whole input once;
- a strided view (``as_strided``, no copy) exposes the input cells under every kernel tap for every
  output position, and a block copies it into im2col columns for a GEMM with the weights.

Memory: beside the output (and the padded copy of the input, where blocks do not pad their own
images), one block's buffers hold at most ``padstride.engine.BLOCK_BYTES`` (never less than one
output row of one image; depthwise: one image of one channel). One block per worker thread at a
time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import geometry
from ..geometry import PaddingError
from . import _blocks
from ._layout import operands
from .padding import pad_into, pad_mode
from .plan import Block, ConvPlan, ConvShape, Path, Tuning, plan

__all__ = ["conv", "conv_plan", "padded_buffer"]


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


@dataclass(frozen=True)
class _Job:
    """One convolution's operands, channels first, in the output dtype."""

    x: np.ndarray  # (N, C_in, *spatial), any strides
    weight: np.ndarray  # (C_out, C_in/groups, *k)
    bias: np.ndarray | None  # (groups, C_out/groups)
    shape: ConvShape
    mode: str  # canonical padding mode
    out: np.ndarray  # (N, groups, C_out/groups, *output), a view of the output

    @property
    def itemsize(self) -> int:
        return self.shape.itemsize

    def padded(self, first: int, last: int, slack: int, channels_last: bool = False) -> np.ndarray:
        """Flat buffer of images ``first … last − 1`` padded (see :func:`padded_buffer`)."""
        return padded_buffer(self.x[first:last], self.shape.geo.pads, self.weight.dtype, self.mode, slack,
                             channels_last)[0]


def _prepare(x: object, w: object, bias: object, stride: int | Sequence[int], padding: object,
             dilation: int | Sequence[int], groups: int, padding_mode: str,
             layout: str) -> tuple[_Job, np.ndarray, bool]:
    """The job, the output array in ``layout`` and whether the input had a batch axis."""
    xf, wa, nd, layout, was_batched = operands(x, w, layout, "C_out, C_in")
    weight = np.moveaxis(wa, (nd + 1, nd), (0, 1)) if layout == "channels_last" else wa  # (C_out, C_in/g, *k)
    n, c = xf.shape[:2]
    c_out, cin_group = weight.shape[:2]
    if groups < 1 or c % groups or c_out % groups or c // groups != cin_group:
        raise PaddingError(
            f"groups={groups} does not fit {c} input channels and weight {tuple(wa.shape)} "
            f"(expects C_in/groups = {cin_group} input channels per group and C_out divisible by groups)"
        )
    geo = geometry.conv(xf.shape[2:], weight.shape[2:], stride, padding, dilation)
    dtype = np.result_type(xf.dtype, wa.dtype) if bias is None else np.result_type(xf, wa, np.asarray(bias))
    outs = geo.output
    out = np.empty((n, *outs, c_out) if layout == "channels_last" else (n, c_out, *outs), dtype)
    grouped = (np.moveaxis(out, -1, 1) if layout == "channels_last" else out).reshape(n, groups, c_out // groups,
                                                                                       *outs)
    itemsize = dtype.itemsize
    channels_first_out = grouped.strides[-1] == itemsize and all(
        grouped.strides[i] == grouped.strides[i + 1] * grouped.shape[i + 1] for i in range(3, grouped.ndim - 1))
    shape = ConvShape(n, c, c_out, groups, geo, itemsize, channels_first_out)
    b = None if bias is None else np.asarray(bias, dtype).reshape(groups, c_out // groups)
    job = _Job(xf, weight.astype(dtype, copy=False), b, shape, pad_mode(padding_mode), grouped)
    return job, out, was_batched


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
    tuning: Tuning | None = None,
) -> np.ndarray:
    """1-D, 2-D or 3-D convolution in any padding convention; the number of axes comes from ``w``.

    ``channels_first``: x ``(N, C, *spatial)``, w ``(C_out, C_in/groups, *k)`` (PyTorch).
    ``channels_last``: x ``(N, *spatial, C)``, w ``(*k, C_in/groups, C_out)`` (TF/Keras).
    The batch axis is optional. ``padding`` is any spec of :class:`padstride.geometry.Padding`
    (``valid``, ``same``, ``same_lower``, ``torch_same``, ``full``, ``causal``, ints or
    ``(before, after)`` pairs, negative = crop); ``padding_mode`` any mode of
    :func:`padstride.engine.pad` (PyTorch's ``zeros``/``replicate`` too). dtype follows
    ``np.result_type(x, w)``. ``tuning``: the planner's thresholds, or a forced path
    (:class:`padstride.engine.Tuning`).

    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((2, 7, 7, 4), np.float32)
    >>> w = np.ones((3, 3, 2, 6), np.float32)
    >>> conv(x, w, stride=2, padding="same", groups=2, layout="channels_last").shape
    (2, 4, 4, 6)
    """
    job, out, was_batched = _prepare(x, w, bias, stride, padding, dilation, groups, padding_mode, layout)
    chosen = plan(job.shape, tuning or Tuning())
    _PATHS[chosen.path](job, chosen)
    return out if was_batched else out[0]


def conv_plan(
    x: object,
    w: object,
    bias: object = None,
    stride: int | Sequence[int] = 1,
    padding: object = "valid",
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    layout: str = "channels_first",
    tuning: Tuning | None = None,
) -> ConvPlan:
    """The plan :func:`conv` follows for these arguments.

    >>> import numpy as np
    >>> conv_plan(np.ones((1, 8, 9, 9)), np.ones((8, 1, 3, 3)), groups=8).path
    <Path.DEPTHWISE: 'depthwise'>
    """
    job = _prepare(x, w, bias, stride, padding, dilation, groups, "constant", layout)[0]
    return plan(job.shape, tuning or Tuning())


def _element_strides(sizes: Sequence[int]) -> tuple[int, ...]:
    """Element strides of a C-ordered array of ``sizes``."""
    return tuple(math.prod(sizes[i + 1:]) for i in range(len(sizes)))


def _sources(job: _Job, p: ConvPlan, channels_last: bool = False) -> Callable[[int, int], tuple[np.ndarray, int]]:
    """For a block of images ``n0 … n1 − 1``: the flat padded buffer holding them, and ``n0``'s index in it."""
    if p.own_pad:
        return lambda n0, n1: (job.padded(n0, n1, p.slack, channels_last), 0)
    whole = job.padded(0, job.shape.n, p.slack, channels_last)
    return lambda n0, n1: (whole, n0)


def _windows(job: _Job, buf: np.ndarray, first: int, images: int, wide: bool) -> np.ndarray:
    """``(images, groups, C_in/groups, *k, *positions)`` view of a flat channels-first padded buffer.

    ``wide``: positions are one flat range, output rows × padded row (row tails included).
    """
    s, itemsize = job.shape, job.itemsize
    image = s.c_in * s.image_size
    axis_steps = _element_strides(s.padded)
    taps = tuple(a.dilation * step for a, step in zip(s.geo, axis_steps, strict=True))
    if wide:
        positions: tuple[int, ...] = (s.geo.output[0] * s.row_size,)
        steps: tuple[int, ...] = (1,)
    else:
        positions = s.geo.output
        steps = tuple(a.stride * step for a, step in zip(s.geo, axis_steps, strict=True))
    view_shape = (images, s.groups, s.cin_per_group, *s.kernel, *positions)
    strides = (image, s.cin_per_group * s.image_size, s.image_size, *taps, *steps)
    return as_strided(buf[first * image:], view_shape, tuple(v * itemsize for v in strides), writeable=False)


def _rows(view: np.ndarray, r0: int, r1: int, job: _Job, wide: bool) -> np.ndarray:
    """Output rows ``r0 … r1 − 1`` of a :func:`_windows` view."""
    if wide:
        return view[..., r0 * job.shape.row_size:r1 * job.shape.row_size]
    return view[(Ellipsis, slice(r0, r1)) + (slice(None),) * (job.shape.nd - 1)]


def _store(job: _Job, result: np.ndarray, block: Block, wide: bool) -> None:
    """Add the bias to a block's GEMM result (groups, C_out/groups, images · rows · row positions)
    and copy it into the output (``wide``: row tails dropped)."""
    s = job.shape
    n0, n1, r0, r1 = block
    if job.bias is not None:
        result += job.bias[:, :, None]
    if wide:
        kept: tuple[slice, ...] = tuple(slice(0, o) for o in s.geo.output[1:])
        grid = result.reshape(s.groups, s.cout_per_group, n1 - n0, r1 - r0, *s.padded[1:])[(slice(None),) * 4 + kept]
    else:
        grid = result.reshape(s.groups, s.cout_per_group, n1 - n0, r1 - r0, *s.geo.output[1:])
    job.out[n0:n1, :, :, r0:r1] = np.moveaxis(grid, 2, 0)


def _gemm_weights(job: _Job) -> np.ndarray:
    """Weights as GEMM rows: (groups, C_out/groups, C_in/groups · k…)."""
    return job.weight.reshape(job.shape.groups, job.shape.cout_per_group, -1)


def _im2col(job: _Job, p: ConvPlan) -> None:
    """:attr:`Path.IM2COL`: per block, columns of every tap and position, one GEMM batched over groups."""
    s = job.shape
    weights = _gemm_weights(job)
    source = _sources(job, p)

    def work(block: Block) -> None:
        n0, n1, r0, r1 = block
        buf, first = source(n0, n1)
        part = _rows(_windows(job, buf, first, n1 - n0, p.wide), r0, r1, job, p.wide)
        cols = np.moveaxis(part, 0, 2 + s.nd).reshape(s.groups, s.cin_per_group * s.tap_count, -1)
        _store(job, np.matmul(weights, cols), block, p.wide)

    _blocks.run(p.blocks, work)


def _direct(job: _Job, p: ConvPlan) -> None:
    """:attr:`Path.DIRECT`: columns of one image at a time, the GEMM written straight into the output."""
    s = job.shape
    weights = _gemm_weights(job)
    source = _sources(job, p)
    row_positions = math.prod(s.geo.output[1:])

    def work(block: Block) -> None:
        n0, n1, r0, r1 = block
        positions = (r1 - r0) * row_positions
        buf, first = source(n0, n1)
        part = _rows(_windows(job, buf, first, n1 - n0, False), r0, r1, job, False)
        cols = np.empty((s.groups, s.cin_per_group * s.tap_count, positions), job.weight.dtype)
        for i in range(n1 - n0):
            np.copyto(cols.reshape(part.shape[1:]), part[i])
            target = job.out[n0 + i, :, :, r0:r1].reshape(s.groups, s.cout_per_group, positions)
            np.matmul(weights, cols, out=target)
            if job.bias is not None:
                target += job.bias[:, :, None]

    _blocks.run(p.blocks, work)


def _shifted(job: _Job, p: ConvPlan) -> None:
    """:attr:`Path.SHIFTED`: columns of the last axis' taps; one GEMM per tap of the other axes.

    Where a 2-D block holds whole images and ``p.into_output``, the GEMMs write into the output
    (:func:`_shifted_into`); else into a block buffer with row tails (:func:`_shifted_gemm`).
    """
    s = job.shape
    lead = s.nd - 1
    per_group = job.weight.reshape(s.groups, s.cout_per_group, s.cin_per_group, *s.kernel)
    # (*k_lead, G, C_out/G, C_in/G, k_last): one weight matrix per tap of the leading axes
    per_lead_tap = np.moveaxis(per_group, tuple(range(3, 3 + lead)), tuple(range(lead)))
    tap_weights = np.ascontiguousarray(per_lead_tap).reshape(-1, s.groups, s.cout_per_group,
                                                              s.cin_per_group * s.kernel[-1])
    axis_steps = _element_strides(s.padded)
    offsets = [sum(t * a.dilation * step for t, a, step in zip(idx, s.geo, axis_steps, strict=False))
               for idx in np.ndindex(*s.kernel[:-1])]  # element offset of each tap of the leading axes
    source = _sources(job, p)
    rows = s.geo.output[0]

    def work(block: Block) -> None:
        n0, n1, r0, r1 = block
        buf, first = source(n0, n1)
        if p.into_output and s.nd == 2 and r0 == 0 and r1 == rows:
            _shifted_into(job, buf, first, tap_weights, job.out[n0:n1])
        else:
            start = first * s.c_in * s.image_size + r0 * s.row_size
            result = _shifted_gemm(job, buf, start, n1 - n0, (r1 - r0) * s.row_size, tap_weights, offsets)
            _store(job, result, block, True)

    _blocks.run(p.blocks, work)


def _shifted_gemm(job: _Job, buf: np.ndarray, start: int, images: int, size: int, tap_weights: np.ndarray,
                  offsets: Sequence[int]) -> np.ndarray:
    """Wide GEMM of ``images`` images from element ``start``, ``size`` positions each:
    (groups, C_out/groups, images · size). ``offsets``: element offset of each leading-axes tap."""
    s = job.shape
    cout = tap_weights.shape[2]
    cols = _last_axis_columns(job, buf, start, images, size + max(offsets))
    result = np.empty((s.groups, cout, images, size), buf.dtype)
    tmp = np.empty((s.groups, cout, size), buf.dtype)
    for i in range(images):
        _sum_tap_gemms(tap_weights, cols[:, :, i], offsets, result[:, :, i], tmp)
    return result.reshape(s.groups, cout, images * size)


def _last_axis_columns(job: _Job, buf: np.ndarray, start: int, images: int, span: int) -> np.ndarray:
    """Columns of the last axis' taps: (groups, C_in/groups · k_last, images, span), row
    ``(c, t)`` of an image holding its flat padded buffer from element ``start + t·d`` on."""
    s, itemsize = job.shape, job.itemsize
    strides = (s.cin_per_group * s.image_size, s.image_size, s.geo.axes[-1].dilation, s.c_in * s.image_size, 1)
    src = as_strided(buf[start:], (s.groups, s.cin_per_group, s.kernel[-1], images, span),
                     tuple(v * itemsize for v in strides), writeable=False)
    cols = np.empty((s.groups, s.cin_per_group * s.kernel[-1], images, span), buf.dtype)
    np.copyto(cols.reshape(src.shape), src)
    return cols


def _stacked(job: _Job, p: ConvPlan) -> None:
    """:attr:`Path.STACKED`: one GEMM per block, the second-last axis' k taps as its rows.

    Columns hold, for every tap of the axes but the second-last, the input at every padded cell but
    the last axis' tails (the output's width only, as 2-D :func:`_shifted_into` does), so a tap of
    the second-last axis is a shift of the flat positions. The GEMM of the stacked weights
    (k · C_out/groups rows) with the columns gives k row blocks; block ``j`` shifted by ``j`` taps
    of the second-last axis is that tap's contribution: k − 1 sums, the last one written straight
    into the output (the tails of the axes between the first and the last dropped; none in 2-D).
    """
    s, itemsize = job.shape, job.itemsize
    lead = s.nd - 2
    k_stacked, k_last = s.kernel[-2:]
    cout, cin = s.cout_per_group, s.cin_per_group
    per_group = job.weight.reshape(s.groups, cout, cin, *s.kernel)
    # (G, k_stacked, C_out/G, *k_lead, C_in/G, k_last): rows (second-last tap, C_out), columns (other taps, C_in)
    order = (0, 3 + lead, 1, *range(3, 3 + lead), 2, 4 + lead)
    weights = np.ascontiguousarray(per_group.transpose(order)).reshape(s.groups, k_stacked * cout, -1)
    grid = (*s.padded[:-1], s.geo.output[-1])  # the columns' positions: the last axis' tails left out
    row = math.prod(grid[1:])  # positions of one index of the first axis
    shift = s.geo.axes[-2].dilation * _element_strides(grid)[-2]  # positions between two taps of the second-last axis
    padded_steps = _element_strides(s.padded)
    lead_taps = tuple(a.dilation * step for a, step in zip(s.geo.axes[:lead], padded_steps, strict=False))
    source = _sources(job, p)
    kept = (slice(None),) * 3 + tuple(slice(0, o) for o in s.geo.output[1:])

    def work(block: Block) -> None:
        n0, n1, r0, r1 = block
        images, rows = n1 - n0, r1 - r0
        size = rows * row
        span = size + (k_stacked - 1) * shift  # positions of the GEMM
        # whole rows past the block's are read by kept outputs (2-D: the first axis is the stacked one);
        # the part of a row after them only by the tails, and may lie past the padded input: zeros
        copied = rows + (k_stacked - 1) * shift // row
        buf, first = source(n0, n1)
        src = as_strided(buf[first * s.c_in * s.image_size + r0 * s.row_size:],
                         (s.groups, *s.kernel[:lead], cin, k_last, images, copied, *grid[1:]),
                         tuple(v * itemsize for v in (cin * s.image_size, *lead_taps, s.image_size,
                                                       s.geo.axes[-1].dilation, s.c_in * s.image_size,
                                                       *padded_steps)), writeable=False)
        cols = np.empty((s.groups, weights.shape[-1], images, span), buf.dtype)
        np.copyto(cols[..., :copied * row].reshape(src.shape), src)
        cols[..., copied * row:] = 0
        z = np.empty((s.groups, k_stacked * cout, span), buf.dtype)
        acc = np.empty((s.groups, cout, size), buf.dtype)
        shape = (s.groups, cout, rows, *grid[1:])

        def exact(flat: np.ndarray) -> np.ndarray:  # (G, C_out/G, size) -> (G, C_out/G, rows, *output[1:])
            return flat.reshape(shape)[kept]

        for i in range(images):
            target = job.out[n0 + i, :, :, r0:r1]
            np.matmul(weights, cols[:, :, i], out=z)
            parts = [z[:, j * cout:(j + 1) * cout, j * shift:j * shift + size] for j in range(k_stacked)]
            if k_stacked == 1:
                target[...] = exact(parts[0])
            elif k_stacked == 2:
                np.add(exact(parts[0]), exact(parts[1]), out=target)
            else:
                np.add(parts[0], parts[1], out=acc)
                for part in parts[2:-1]:
                    acc += part
                np.add(exact(acc), exact(parts[-1]), out=target)
            if job.bias is not None:
                target += job.bias.reshape(s.groups, cout, *(1,) * s.nd)

    _blocks.run(p.blocks, work)


def _sum_tap_gemms(tap_weights: np.ndarray, cols: np.ndarray, offsets: Sequence[int], out: np.ndarray,
                   tmp: np.ndarray) -> None:
    """``out = Σ_t tap_weights[t] @ cols[..., offsets[t] : offsets[t] + positions]`` over the leading
    axes' taps: the first GEMM writes ``out``, the others go through ``tmp`` and are added (NumPy's
    matmul cannot accumulate)."""
    size = out.shape[-1]
    for t, offset in enumerate(offsets):
        window = cols[..., offset:offset + size]
        if t == 0:
            np.matmul(tap_weights[0], window, out=out)
        else:
            np.matmul(tap_weights[t], window, out=tmp)
            out += tmp


def _shifted_into(job: _Job, buf: np.ndarray, first: int, tap_weights: np.ndarray, out: np.ndarray) -> None:
    """:func:`_shifted_gemm` on exact columns, written straight into ``out`` (images, groups, C_out/groups, H, W).

    Per image, the last axis' taps are copied for every padded row but only the output's columns,
    so the GEMM of first-axis tap ``t`` reads the flat range of rows ``t·d … t·d + H − 1`` and its
    result is the output itself: no row tails and no copy of the result.
    """
    s, itemsize = job.shape, job.itemsize
    images, groups, cout, height, width = out.shape
    rows_per_tap = tap_weights.shape[-1]
    offsets = [t * s.geo.axes[0].dilation * width for t in range(s.kernel[0])]  # first-axis taps, in columns
    image = s.c_in * s.image_size
    strides = (s.cin_per_group * s.image_size, s.image_size, s.geo.axes[1].dilation, s.padded[1], 1)
    cols = np.empty((groups, rows_per_tap, s.padded[0] * width), buf.dtype)
    tmp = np.empty((groups, cout, height * width), buf.dtype)
    for i in range(images):
        src = as_strided(buf[(first + i) * image:], (groups, s.cin_per_group, s.kernel[1], s.padded[0], width),
                         tuple(v * itemsize for v in strides), writeable=False)
        np.copyto(cols.reshape(src.shape), src)
        target = out[i].reshape(groups, cout, height * width)
        _sum_tap_gemms(tap_weights, cols, offsets, target, tmp)
        if job.bias is not None:
            target += job.bias[:, :, None]


def _channels_last(job: _Job, p: ConvPlan) -> None:
    """:attr:`Path.CHANNELS_LAST`: im2col from an (N, *spatial, C) padded copy.

    Columns are (groups, positions, k… · C_in/groups): with one group and no dilation along the
    last axis, one position's taps of the last axis are one run of k · C_in values, so even a
    strided window copies long runs. The GEMM columns × weights gives (positions, C_out/groups)
    per group, written into the output through a transposed view.
    """
    s, itemsize = job.shape, job.itemsize
    outs, c, cin_group = s.geo.output, s.c_in, s.cin_per_group
    axis_steps = tuple(step * c for step in _element_strides(s.padded))
    steps = tuple(a.stride * step for a, step in zip(s.geo, axis_steps, strict=True))
    taps = tuple(a.dilation * step for a, step in zip(s.geo, axis_steps, strict=True))
    per_group = job.weight.reshape(s.groups, s.cout_per_group, cin_group, *s.kernel)
    weights = np.ascontiguousarray(np.moveaxis(per_group, (1, 2), (-1, -2))).reshape(s.groups, -1, s.cout_per_group)
    row_positions = math.prod(outs[1:])
    source = _sources(job, p, channels_last=True)

    def work(block: Block) -> None:
        n0, n1, r0, r1 = block
        images, rows = n1 - n0, r1 - r0
        buf, first = source(n0, n1)
        view = as_strided(buf[first * s.image_size * c:], (s.groups, images, *outs, *s.kernel, cin_group),
                          tuple(v * itemsize for v in (cin_group, s.image_size * c, *steps, *taps, 1)), writeable=False)
        cols = np.empty((s.groups, images * rows * row_positions, s.tap_count * cin_group), job.weight.dtype)
        np.copyto(cols.reshape(s.groups, images, rows, *outs[1:], *s.kernel, cin_group), view[:, :, r0:r1])
        result = np.matmul(cols, weights)
        if job.bias is not None:
            result += job.bias[:, None, :]
        grid = result.reshape(s.groups, images, rows, *outs[1:], s.cout_per_group)
        job.out[n0:n1, :, :, r0:r1] = np.moveaxis(grid, (1, 0, -1), (0, 1, 2))

    _blocks.run(p.blocks, work)


def _depthwise(job: _Job, p: ConvPlan) -> None:
    """:attr:`Path.DEPTHWISE`: per block of channels × images, columns of every tap and one GEMM per channel.

    Each block pads its own channels and images channel-major (channels, images, *padded), so a
    channel's images are one run of memory; one copy gathers the columns of every tap
    (channels, taps, positions) and one batched GEMM multiplies each channel's columns by its own
    weights (channels, C_out/groups, taps): no Python loop over channels or taps. The padded copy,
    the columns and the result stay within the block limit; one copy (with the bias) writes the
    output. With all strides 1 the positions are wide (one flat range per channel over the block's
    images; row tails computed and dropped).
    """
    s, itemsize = job.shape, job.itemsize
    outs, padded, image = s.geo.output, s.padded, s.image_size
    axis_steps = _element_strides(padded)
    taps = tuple(a.dilation * step for a, step in zip(s.geo, axis_steps, strict=True))
    steps = tuple(a.stride * step for a, step in zip(s.geo, axis_steps, strict=True))
    weights = job.weight.reshape(s.groups, s.cout_per_group, s.tap_count)
    keep = (slice(None), slice(None), slice(None), *(slice(0, o) for o in outs))

    def work(block: Block) -> None:
        g0, g1, n0, n1 = block
        channels, images = g1 - g0, n1 - n0
        buf = padded_buffer(job.x[n0:n1, g0:g1].swapaxes(0, 1), s.geo.pads, job.weight.dtype, job.mode,
                            slack=p.slack)[0]
        if p.wide:  # per channel, one flat range over its images' padded grids, up to the last output row
            span = (images - 1) * image + outs[0] * s.row_size
            view = as_strided(buf, (channels, *s.kernel, span), tuple(v * itemsize for v in (images * image, *taps, 1)),
                              writeable=False)
            result = np.empty((channels, s.cout_per_group, images * image), job.weight.dtype)
            product = result[..., :span]
            exact = result.reshape(channels, s.cout_per_group, images, *padded)[keep]
        else:
            span = images * math.prod(outs)
            view = as_strided(buf, (channels, *s.kernel, images, *outs),
                              tuple(v * itemsize for v in (images * image, *taps, image, *steps)), writeable=False)
            result = np.empty((channels, s.cout_per_group, span), job.weight.dtype)
            product = result
            exact = result.reshape(channels, s.cout_per_group, images, *outs)
        cols = np.empty((channels, s.tap_count, span), job.weight.dtype)
        np.copyto(cols.reshape(view.shape), view)
        np.matmul(weights[g0:g1], cols, out=product)
        target = np.moveaxis(job.out[n0:n1, g0:g1], 0, 2)  # (channels, C_out/groups, images, *output)
        if job.bias is None:  # one copy with the exact output's short rows: the GEMM runs wide
            target[...] = exact
        else:
            np.add(exact, job.bias[g0:g1].reshape((channels, s.cout_per_group) + (1,) * (s.nd + 1)), out=target)

    _blocks.run(p.blocks, work)


_PATHS: dict[Path, Callable[[_Job, ConvPlan], None]] = {
    Path.IM2COL: _im2col,
    Path.DIRECT: _direct,
    Path.SHIFTED: _shifted,
    Path.STACKED: _stacked,
    Path.CHANNELS_LAST: _channels_last,
    Path.DEPTHWISE: _depthwise,
}
