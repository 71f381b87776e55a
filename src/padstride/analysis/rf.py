"""Receptive field per spatial axis, composed forward through a network (Araujo et al., 2019).

An :class:`AxisRF` describes which input pixels output unit ``u`` of a tensor sees:
``[u·stride − padding, u·stride − padding + size − 1]``. Every layer is described by an
:class:`AxisMap`: output unit ``o`` is centred on input position ``o·scale + offset`` and spans
``width`` consecutive input units. Composing a map with an :class:`AxisRF` is the recurrence of
``docs/analysis.md``: ``r' = r + (w−1)·j``, ``j' = j·scale``, ``c' = c + offset·j``.

>>> rf = AxisRF.identity()
>>> for _ in range(2):
...     rf = rf.then(AxisMap.window(kernel=3, stride=2, before=1))
>>> rf.size, rf.stride, rf.padding, rf.centre
(7, Fraction(4, 1), Fraction(3, 1), Fraction(0, 1))
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar

from ..geometry import effective_kernel

__all__ = ["AxisMap", "AxisRF", "union", "union_per_axis"]


@dataclass(frozen=True)
class AxisMap:
    """How one layer maps output units to input units along one axis.

    >>> AxisMap.window(kernel=3, stride=1, before=1)
    AxisMap(scale=Fraction(1, 1), offset=Fraction(0, 1), width=3)
    """

    scale: Fraction
    offset: Fraction
    width: int
    #: ``(scale, 2·offset)`` as ints where the builder knew them (windows, shifts), else None: what
    #: :meth:`AxisRF.then` composes without Fractions. Not a field (equality, hash and repr ignore it).
    _ints: ClassVar[tuple[int, int] | None] = None

    @classmethod
    def window(cls, kernel: int, stride: int, before: int, dilation: int = 1) -> AxisMap:
        """Convolution or pooling: window ``o`` covers inputs ``o·s − before … o·s − before + K − 1``.

        >>> AxisMap.window(3, 2, 0).offset
        Fraction(1, 1)
        """
        return _window_map(kernel, stride, before, dilation)

    @classmethod
    def transposed(cls, kernel: int, stride: int, before: int, dilation: int = 1) -> AxisMap:
        """Transposed convolution: output ``o`` gathers inputs ``i`` with ``i·s − before ≤ o ≤ i·s − before + K − 1``.

        The width is the most consecutive inputs any output reads: ``⌊(K−1)/s⌋ + 1``.

        >>> AxisMap.transposed(2, 2, 0)
        AxisMap(scale=Fraction(1, 2), offset=Fraction(-1, 4), width=1)
        """
        span = effective_kernel(kernel, dilation)
        return cls(Fraction(1, stride), (Fraction(before) - Fraction(span - 1, 2)) / stride,
                   (span - 1) // stride + 1)

    @classmethod
    def shift(cls, before: int) -> AxisMap:
        """Padding (``before > 0``) or cropping (``before < 0``): output ``o`` is input ``o − before``.

        >>> AxisMap.shift(2).offset
        Fraction(-2, 1)
        """
        if before == 0:
            return _IDENTITY
        return _shift_map(before)

    @classmethod
    def resize(cls, n_in: int, n_out: int, mode: str = "nearest", align_corners: bool = False) -> AxisMap:
        """Upsampling by ``n_out/n_in`` with pixel centres aligned (``align_corners`` aligns the corners).

        >>> AxisMap.resize(4, 8)
        AxisMap(scale=Fraction(1, 2), offset=Fraction(-1, 4), width=1)
        """
        if align_corners and n_out > 1:
            scale = Fraction(n_in - 1, n_out - 1)
            offset = Fraction(0)
        else:
            scale = Fraction(n_in, n_out)
            offset = (scale - 1) / 2
        width = 1 if mode == "nearest" or scale == 1 else 2 if mode in ("linear", "bilinear", "trilinear") else 4
        return cls(scale, offset, width)


@dataclass(frozen=True)
class AxisRF:
    """Receptive field of a tensor's units along one input axis.

    ``size`` in input pixels, ``stride`` (effective stride, input pixels between neighbouring
    units), ``centre`` (input position of unit 0's centre). ``padding`` is the effective padding
    ``(size − 1)/2 − centre``: unit 0 starts at input index ``−padding``.

    >>> AxisRF(size=3, stride=Fraction(1), centre=Fraction(0)).padding
    Fraction(1, 1)
    """

    size: int
    stride: Fraction
    centre: Fraction
    #: ``(stride, 2·centre)`` as ints where they are (integer strides, whole or half-pixel centres: the
    #: usual case), for :meth:`then` and :func:`union`; else None. Not a field (equality, hash and
    #: repr ignore it); instances made by ``__init__`` leave it None and take the Fraction path.
    _ints: ClassVar[tuple[int, int] | None] = None

    @classmethod
    def identity(cls) -> AxisRF:
        """The input itself: each unit sees one pixel.

        >>> AxisRF.identity().size
        1
        """
        return _rf2(1, 1, 0) if cls is AxisRF else cls(1, Fraction(1), Fraction(0))

    @property
    def padding(self) -> Fraction:
        c = self.centre
        if c.denominator <= 2:  # whole or half-pixel centres (the usual case): in ints, halved once
            twice = self.size - 1 - c.numerator * (2 // c.denominator)
            return _whole(twice // 2) if twice % 2 == 0 else Fraction(twice, 2)
        return Fraction(self.size - 1, 2) - c

    def span(self, unit: int) -> tuple[Fraction, Fraction]:
        """First and last input position seen by ``unit`` (pixels outside the input are padding).

        >>> AxisRF(7, Fraction(4), Fraction(0)).span(1)
        (Fraction(1, 1), Fraction(7, 1))
        """
        start = unit * self.stride - self.padding
        return (start, start + self.size - 1)

    def then(self, m: AxisMap) -> AxisRF:
        """The receptive field after one more layer.

        >>> AxisRF.identity().then(AxisMap.window(3, 1, 1)).size
        3
        """
        if m is _IDENTITY:  # 1×1 stride-1 windows, zero pads: nothing changes (the same value, shared)
            return self
        a, b = self._ints, m._ints
        if a is None:
            a = _ints(self.stride, self.centre)
        if b is None:
            b = _ints(m.scale, m.offset)
        if a is not None and b is not None:  # integers throughout (twice-sized centres): no Fraction arithmetic
            step, c2 = a
            return _rf2(self.size + (m.width - 1) * step, step * b[0], c2 + b[1] * step)
        j = self.stride
        size = self.size + (m.width - 1) * j
        return _rf(math.ceil(size), j * m.scale, self.centre + m.offset * j)


_new = object.__new__


def _ints(whole: Fraction, half: Fraction) -> tuple[int, int] | None:
    """``(whole, 2·half)`` as ints, or None where ``whole`` is not an integer or ``half`` not a multiple of ½."""
    if whole.denominator == 1 and half.denominator <= 2:
        return whole.numerator, half.numerator * (2 // half.denominator)
    return None


def _rf(size: int, stride: Fraction, centre: Fraction) -> AxisRF:
    """``AxisRF(size, stride, centre)``, with its ints (:attr:`AxisRF._ints`) where they exist."""
    ints = _ints(stride, centre)
    if ints is not None:
        return _rf2(size, *ints)
    r = _new(AxisRF)
    d = r.__dict__
    d["size"], d["stride"], d["centre"] = size, stride, centre
    return r


def _rf2(size: int, stride: int, centre2: int) -> AxisRF:
    """``AxisRF(size, Fraction(stride), Fraction(centre2, 2))`` at a fraction of the cost: the frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__``; this fills the instance's
    ``__dict__`` directly, with shared Fractions (the same object: equality, hash and repr come from
    the fields). Every composition step makes one."""
    r = _new(AxisRF)
    d = r.__dict__
    j = _WHOLE.get(stride)
    c = _HALVES.get(centre2)
    d["size"], d["stride"], d["centre"], d["_ints"] = (size, _whole(stride) if j is None else j,
                                                      _half(centre2) if c is None else c, (stride, centre2))
    return r


_WHOLE: dict[int, Fraction] = {}
_HALVES: dict[int, Fraction] = {}


def _whole(n: int) -> Fraction:
    """``Fraction(n)``, shared for the small values every network repeats (Fractions are immutable;
    making one costs more than the rest of a composition step)."""
    f = _WHOLE.get(n)
    if f is None:
        f = Fraction(n)
        if len(_WHOLE) < 4096:
            _WHOLE[n] = f
    return f


def _half(n: int) -> Fraction:
    """``Fraction(n, 2)``, shared like :func:`_whole`."""
    f = _HALVES.get(n)
    if f is None:
        f = _whole(n // 2) if n % 2 == 0 else Fraction(n, 2)
        if len(_HALVES) < 4096:
            _HALVES[n] = f
    return f


@functools.lru_cache(maxsize=1024)
def _window_map(kernel: int, stride: int, before: int, dilation: int) -> AxisMap:
    """:meth:`AxisMap.window`, memoised (maps are immutable and networks repeat them)."""
    span = effective_kernel(kernel, dilation)
    m = AxisMap(Fraction(stride), Fraction(span - 1, 2) - before, span)
    m.__dict__["_ints"] = (stride, span - 1 - 2 * before)
    return m


@functools.lru_cache(maxsize=1024)
def _shift_map(before: int) -> AxisMap:
    """:meth:`AxisMap.shift`, memoised like :func:`_window_map`."""
    m = AxisMap(Fraction(1), Fraction(-before), 1)
    m.__dict__["_ints"] = (1, -2 * before)
    return m


def union(rfs: Sequence[AxisRF]) -> tuple[AxisRF, Fraction]:
    """Receptive field where branches merge, and the spread of their centres (misalignment, pixels).

    >>> a, b = AxisRF(3, Fraction(2), Fraction(0)), AxisRF(1, Fraction(2), Fraction(2))
    >>> rf, mis = union([a, b])
    >>> rf.size, rf.centre, mis
    (4, Fraction(1, 2), Fraction(2, 1))
    """
    lo2 = hi2 = c2min = c2max = step = 0  # twice-sized ints; step: the largest stride, 0 if one is not an int
    for n, r in enumerate(rfs):  # whole or half-pixel centres (the usual case): in ints, in one pass
        f = r._ints
        if f is not None:
            s, c2 = f
        else:
            c = r.centre
            den = c.denominator
            if den == 1:
                c2 = 2 * c.numerator
            elif den == 2:
                c2 = c.numerator
            else:
                return _union_fractions(rfs)
            s = r.stride.numerator if r.stride.denominator == 1 else 0
        e = r.size - 1
        if n == 0:
            lo2, hi2, c2min, c2max, step = c2 - e, c2 + e, c2, c2, s
            continue
        if c2 - e < lo2:
            lo2 = c2 - e
        if c2 + e > hi2:
            hi2 = c2 + e
        if c2 < c2min:
            c2min = c2
        elif c2 > c2max:
            c2max = c2
        if not s:
            step = 0
        elif step and s > step:
            step = s
    size, total = -((lo2 - hi2) // 2) + 1, lo2 + hi2
    if step and total % 2 == 0:
        return _rf2(size, step, total // 2), _half(c2max - c2min)
    centre = _whole(total // 4) if total % 4 == 0 else _quarter(total)
    return _rf(size, _max_stride(rfs), centre), _half(c2max - c2min)


def union_per_axis(fields: Sequence[Sequence[AxisRF]]) -> tuple[tuple[AxisRF, ...], tuple[Fraction, ...]]:
    """:func:`union` on every axis of several branches' fields (each one :class:`AxisRF` per axis):
    the merged field per axis, and the misalignment per axis.

    >>> a = (AxisRF(3, Fraction(2), Fraction(0)), AxisRF(3, Fraction(1), Fraction(0)))
    >>> b = (AxisRF(1, Fraction(2), Fraction(2)), AxisRF(5, Fraction(1), Fraction(0)))
    >>> rf, mis = union_per_axis([a, b])
    >>> [r.size for r in rf], mis
    ([4, 5], (Fraction(2, 1), Fraction(0, 1)))
    """
    pairs = [union([rfs[a] for rfs in fields]) for a in range(len(fields[0]))]
    return tuple(rf for rf, _ in pairs), tuple(mis for _, mis in pairs)


def _union_fractions(rfs: Sequence[AxisRF]) -> tuple[AxisRF, Fraction]:
    """:func:`union` for centres finer than half a pixel, in Fractions."""
    starts = [r.centre - Fraction(r.size - 1, 2) for r in rfs]
    ends = [r.centre + Fraction(r.size - 1, 2) for r in rfs]
    lo, hi = min(starts), max(ends)
    size = hi - lo + 1
    centres = [r.centre for r in rfs]
    return (AxisRF(math.ceil(size), _max_stride(rfs), (lo + hi) / 2),
            max(centres) - min(centres))


_QUARTERS: dict[int, Fraction] = {}


def _quarter(n: int) -> Fraction:
    """``Fraction(n, 4)``, shared like :func:`_whole` (half- and quarter-pixel centres repeat too)."""
    f = _QUARTERS.get(n)
    if f is None:
        f = Fraction(n, 4)
        if len(_QUARTERS) < 4096:
            _QUARTERS[n] = f
    return f


def _max_stride(rfs: Sequence[AxisRF]) -> Fraction:
    """The largest stride of ``rfs``; without comparing Fractions where they are one shared value (the usual case)."""
    first = rfs[0].stride
    if all(r.stride is first for r in rfs):
        return first
    return max(r.stride for r in rfs)


#: The map of a layer that changes nothing (1×1 window, stride 1, no pad): :meth:`AxisRF.then` skips it.
_IDENTITY = _window_map(1, 1, 0, 1)
