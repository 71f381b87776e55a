"""What each engine op *is*, in a few lines: pad → strided window view → contraction.

>>> import numpy as np
>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> conv(x, np.ones((1, 1, 3, 3)), stride=2, padding="same")[0, 0]
array([[45., 39.],
       [66., 50.]])

These functions define the meaning of :func:`padstride.engine.pad`, :func:`~padstride.engine.conv`,
:func:`~padstride.engine.pool` and :func:`~padstride.engine.conv_transpose` (channels first), and
they are the oracle their fast paths are tested against (``tests/engine/test_reference.py``).
They are exact but hold every window of the input at once: use them to read, not to run.

A convolution, following tinygrad:

1. pad the input, pads from :func:`padstride.geometry.conv` (the single source of the arithmetic);
2. view every window of every output position without copying
   (:func:`numpy.lib.stride_tricks.sliding_window_view`), keeping every ``stride``-th window and
   every ``dilation``-th cell of it: ``(N, C, *output, *kernel)``;
3. contract channels and kernel taps with the weights (:func:`numpy.einsum`).

Pooling reduces the same view with ``max`` or ``sum ÷ divisor``; a transposed convolution is the
convolution of the input spread ``stride`` apart, with the kernel flipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import geometry
from ..geometry import Padding
from .padding import pad_mode, source_index

__all__ = ["conv", "conv_transpose", "pad", "pool", "windows"]


def pad(x: np.ndarray, pads: Sequence[tuple[int, int]], mode: str = "constant", value: float = 0.0) -> np.ndarray:
    """Pad the last ``len(pads)`` axes: output index ``o`` reads input ``o − before`` mapped into the axis.

    >>> pad(np.arange(4), [(2, 1)], "reflect")
    array([2, 1, 0, 1, 2, 3, 2])
    """
    mode = pad_mode(mode)
    first = x.ndim - len(pads)
    for ax, (before, after) in enumerate(pads, first):
        if mode == "circular":  # PyTorch: crop first, then wrap what is left
            x = np.take(x, np.arange(max(0, -before), x.shape[ax] - max(0, -after)), axis=ax)
            before, after = max(before, 0), max(after, 0)
        positions = np.arange(-before, x.shape[ax] + after)
        if mode == "constant":
            inside = (positions >= 0) & (positions < x.shape[ax])
            taken = np.take(x, np.where(inside, positions, 0), axis=ax)
            x = np.where(inside.reshape((-1,) + (1,) * (x.ndim - ax - 1)), taken, np.asarray(value, x.dtype))
        else:
            x = np.take(x, source_index(positions, x.shape[ax], mode, ax - first), axis=ax)
    return x


def windows(xp: np.ndarray, geo: geometry.Geometry[geometry.AxisWindow]) -> np.ndarray:
    """Every window of a padded ``(N, C, *padded)`` array: a ``(N, C, *output, *kernel)`` view, no copy."""
    nd = geo.ndim
    view = sliding_window_view(xp, [a.span for a in geo], axis=tuple(range(2, 2 + nd)))
    positions = tuple(slice(0, a.output * a.stride, a.stride) for a in geo)
    taps = tuple(slice(None, None, a.dilation) for a in geo)
    return view[(slice(None), slice(None), *positions, *taps)]


def conv(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | Sequence[int] = 1,
    padding: object = "valid",
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    padding_mode: str = "constant",
) -> np.ndarray:
    """Convolution (cross-correlation) of ``x`` (N, C_in, *spatial) with ``w`` (C_out, C_in/groups, *k).

    >>> conv(np.ones((1, 2, 5)), np.ones((4, 1, 3)), groups=2, padding="same")[0, :, 0]
    array([2., 2., 2., 2.])
    """
    nd = w.ndim - 2
    geo = geometry.conv(x.shape[2:], w.shape[2:], stride, padding, dilation)
    win = windows(pad(x, geo.pads, padding_mode), geo)                      # (N, C_in, *out, *k)
    win = win.reshape(x.shape[0], groups, x.shape[1] // groups, *win.shape[2:])
    wg = w.reshape(groups, w.shape[0] // groups, *w.shape[1:])             # (G, C_out/G, C_in/G, *k)
    out_axes, tap_axes = "xyz"[:nd], "ijk"[:nd]
    out: np.ndarray = np.einsum(f"ngc{out_axes}{tap_axes},goc{tap_axes}->ngo{out_axes}", win, wg, optimize=True)
    out = out.reshape(x.shape[0], w.shape[0], *geo.output)
    return out if bias is None else out + bias.reshape((-1,) + (1,) * nd)


def pool(
    x: np.ndarray,
    kernel: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: object = "valid",
    mode: str = "max",
    ceil_mode: bool = False,
    count_include_pad: bool | None = None,
    dilation: int | Sequence[int] = 1,
    rule: str = "torch",
) -> np.ndarray:
    """Max or average pooling of ``x`` (N, C, *spatial) over every window (``None``: as :func:`padstride.engine.pool`).

    >>> pool(np.arange(16.0).reshape(1, 1, 4, 4), 3, 2, padding="same", mode="avg")[0, 0]
    array([[ 5. ,  6.5],
           [11. , 12.5]])
    """
    nd = x.ndim - 2
    geo = geometry.pool(x.shape[2:], kernel, stride, padding, dilation, ceil_mode, rule)
    fill = -np.inf if mode == "max" else 0.0
    xp = pad(x, [(a.pad_before, a.pad_after + a.overhang) for a in geo], "constant", fill)  # + ceil_mode overhang
    win = windows(xp, geo)
    tap_axes = tuple(range(2 + nd, 2 + 2 * nd))
    if mode == "max":
        return np.asarray(win.max(axis=tap_axes))
    specs = Padding.parse(padding, nd).axes  # conventions exclude padded cells (TF), explicit pads count them
    include = [not isinstance(s, str) if count_include_pad is None else count_include_pad for s in specs]
    divisor = np.ones(geo.output)
    for i, (a, inc) in enumerate(zip(geo, include, strict=True)):
        divisor = divisor * np.asarray(geometry.avg_divisors(a, inc)).reshape((-1,) + (1,) * (nd - 1 - i))
    return np.asarray(win.sum(axis=tap_axes) / divisor)


def conv_transpose(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | Sequence[int] = 1,
    padding: object = 0,
    output_padding: int | Sequence[int] | None = None,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    rule: str = "keras",
    output_size: int | Sequence[int] | None = None,
) -> np.ndarray:
    """Transposed convolution of ``x`` (N, C_in, *spatial) with ``w`` (C_in, C_out/groups, *k).

    The input spread ``stride`` apart (zeros between), padded by ``span − 1 − crop`` on each side
    (negative = crop), convolved at stride 1 with the kernel flipped and its channel axes swapped.

    >>> conv_transpose(np.ones((1, 1, 3)), np.ones((1, 1, 3)), stride=2)[0, 0]
    array([1., 1., 2., 1., 2., 1., 1.])
    """
    nd = w.ndim - 2
    geo = geometry.conv_transpose(x.shape[2:], w.shape[2:], stride, padding, output_padding, dilation, rule,
                                  output_size)
    spread = np.zeros(x.shape[:2] + tuple((a.input - 1) * a.stride + 1 for a in geo), x.dtype)
    spread[(slice(None), slice(None), *(slice(None, None, a.stride) for a in geo))] = x
    c_in, c_out_g = w.shape[:2]
    wg = w.reshape(groups, c_in // groups, c_out_g, *w.shape[2:]).swapaxes(1, 2)  # (G, C_out/G, C_in/G, *k)
    flipped = np.flip(wg.reshape(groups * c_out_g, c_in // groups, *w.shape[2:]), tuple(range(2, 2 + nd)))
    return conv(spread, flipped, bias, 1, [a.conv_pads() for a in geo], [a.dilation for a in geo], groups)
