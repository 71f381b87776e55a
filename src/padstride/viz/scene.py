"""What a picture of a window op shows: per cell a kind, per output position the cells it reads.

A *scene* is drawn on the **source** grid: the input itself for a convolution or pooling, the
zero-stuffed input for a transposed convolution (the picture of Dumoulin & Visin: a stride-1
convolution over the input with ``stride − 1`` zeros between pixels, padded by
``AxisTranspose.conv_pads()``). Every index comes from :mod:`padstride.geometry`.

>>> from padstride.geometry import conv
>>> s = scene(conv(5, 3, stride=2, padding="same"))
>>> s.axes[0].kinds
('pad', 'input', 'input', 'input', 'input', 'input', 'pad')
>>> s.axes[0].windows
((-1, 0, 1), (1, 2, 3), (3, 4, 5))
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from ..geometry import AnyGeometry, AxisTranspose, AxisWindow, PaddingError, effective_kernel

__all__ = ["KINDS", "LIST_CELLS", "AxisScene", "Scene", "as_2d", "axis_scene", "scene"]

#: Cell kinds, drawn distinctly. ``zero``: inserted between inputs by a transposed convolution;
#: ``cropped``: input removed by a negative pad; ``overhang``: outside the padded input but under
#: a ``ceil_mode`` window (ignored by the op); ``dropped``: input that no window reads.
KINDS: tuple[str, ...] = ("input", "dropped", "pad", "zero", "cropped", "overhang")

#: Axes up to this many cells (and windows) are listed as tuples; longer ones are answered per
#: index from the geometry, so a scene of any size costs O(1) to build.
LIST_CELLS = 4096

# When two axes disagree, the stronger kind wins (a pixel in a pad row is a pad pixel).
_RANK = {"cropped": 5, "overhang": 4, "pad": 3, "zero": 2, "dropped": 1, "input": 0}

T = TypeVar("T")


class _Lazy(Sequence[T]):
    """A read-only sequence of ``length`` items computed per index (``item(i)``); compares equal
    to a tuple or list with the same items."""

    def __init__(self, length: int, item: Callable[[int], T]) -> None:
        self._length, self._item = length, item

    @property
    def length(self) -> int:
        """The length, also past ``sys.maxsize`` (where ``len()`` cannot answer)."""
        return self._length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[T]:
        i = 0
        while i < self._length:
            yield self._item(i)
            i += 1

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[T, ...]: ...

    def __getitem__(self, i: int | slice) -> T | tuple[T, ...]:
        if isinstance(i, slice):
            return tuple(self._item(k) for k in range(*i.indices(self._length)))
        if i < 0:
            i += self._length
        if not 0 <= i < self._length:
            raise IndexError(i)
        return self._item(i)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (Sequence)) or isinstance(other, str) or _length(other) != self._length:
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self._length <= 16:
            return repr(tuple(self))
        return f"<{self._length:,} items: {self._item(0)!r}, …, {self._item(self._length - 1)!r}>"


def _length(seq: Sequence[Any]) -> int:
    """``len(seq)``, also for a lazy sequence longer than ``sys.maxsize``."""
    return seq.length if isinstance(seq, _Lazy) else len(seq)


def _seq(length: int, item: Callable[[int], T]) -> Sequence[T]:
    """A tuple for short axes, else a lazy sequence."""
    if length <= LIST_CELLS:
        return tuple(item(i) for i in range(length))
    return _Lazy(length, item)


@dataclass(frozen=True)
class AxisScene:
    """One axis of a scene: shown source indices ``lo … hi−1``, their kinds, and each window's taps.

    ``size`` is the source length (input, or zero-stuffed input), ``pads`` those of the
    convolution that is drawn (negative = crop), ``windows[j]`` the source indices read by
    output ``j``: ``j·step − offset + t·dilation`` for ``t < kernel``. ``kinds`` and ``windows``
    are tuples up to :data:`LIST_CELLS` entries, lazy sequences beyond.
    """

    size: int
    pads: tuple[int, int]
    lo: int
    kinds: Sequence[str]
    windows: Sequence[tuple[int, ...]]
    stride: int = 1
    dilation: int = 1
    kernel: int = 1
    step: int = 1
    offset: int = 0

    @property
    def hi(self) -> int:
        return self.lo + _length(self.kinds)

    @property
    def output(self) -> int:
        return _length(self.windows)

    def kind(self, i: int) -> str:
        """Kind of source index ``i`` (must be shown)."""
        return self.kinds[i - self.lo]

    def first_tap(self, j: int) -> int:
        """Source index under the first tap of window ``j``."""
        return j * self.step - self.offset

    def last_tap(self, j: int) -> int:
        """Source index under the last tap of window ``j``."""
        return self.first_tap(j) + effective_kernel(self.kernel, self.dilation) - 1

    def reads(self, j: int, i: int) -> bool:
        """Whether window ``j`` has a tap on source index ``i`` (O(1)).

        >>> from padstride.geometry import conv_axis
        >>> a = axis_scene(conv_axis(9, 3, stride=2, dilation=2))
        >>> [i for i in range(9) if a.reads(1, i)]
        [2, 4, 6]
        """
        t, r = divmod(i - self.first_tap(j), self.dilation)
        return r == 0 and 0 <= t < self.kernel

    @property
    def boundaries(self) -> tuple[int, ...]:
        """Indices where a region starts or ends strictly inside the shown range (for drawing rules)."""
        edges = {0, self.size, -self.pads[0], self.size + self.pads[1]}
        return tuple(sorted(e for e in edges if self.lo < e < self.hi))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; an axis past :data:`LIST_CELLS` cells or windows is refused."""
        if _length(self.kinds) > LIST_CELLS or self.output > LIST_CELLS:
            raise PaddingError(f"a scene of {_length(self.kinds):,} cells and {self.output:,} windows is too "
                               f"large to list (limit {LIST_CELLS:,})")
        return {
            "size": self.size, "pads": list(self.pads), "lo": self.lo, "hi": self.hi,
            "kinds": list(self.kinds), "windows": [list(w) for w in self.windows],
            "stride": self.stride, "dilation": self.dilation,
        }


def axis_scene(axis: AxisWindow | AxisTranspose) -> AxisScene:
    """Scene of one :class:`~padstride.geometry.AxisWindow` or :class:`~padstride.geometry.AxisTranspose`.

    Built in O(1) for any length: kinds and windows of long axes are computed per index.

    >>> from padstride.geometry import conv_transpose_axis, pool_axis
    >>> axis_scene(conv_transpose_axis(2, 3, 2, padding=0, output_padding=0)).kinds
    ('pad', 'pad', 'input', 'zero', 'input', 'pad', 'pad')
    >>> axis_scene(pool_axis(5, 2, ceil_mode=True)).kinds
    ('input', 'input', 'input', 'input', 'input', 'overhang')
    >>> from padstride.geometry import conv_axis
    >>> big = axis_scene(conv_axis(10**12, 3, stride=2))
    >>> len(big.kinds), big.kinds[-1], big.windows[-1]
    (1000000000000, 'dropped', (999999999996, 999999999997, 999999999998))
    """
    transposed = isinstance(axis, AxisTranspose)
    if isinstance(axis, AxisTranspose):  # a stride-1 conv over the zero-stuffed input
        size = (axis.input - 1) * axis.stride + 1
        before, after = axis.conv_pads()
        step = 1
    else:
        size, (before, after) = axis.input, axis.pads
        step = axis.stride
    k, d, out = axis.kernel, axis.dilation, axis.output
    first_tap = -before
    last_tap = (out - 1) * step - before + axis.span - 1
    lo = min(0, -before, first_tap)
    hi = max(size, size + after, last_tap + 1)

    def unread(i: int) -> bool:
        if not isinstance(axis, AxisTranspose):
            return axis.read_count(i) == 0
        return _input_cropped(axis, i // axis.stride)

    def kind(c: int) -> str:
        i = lo + c
        inside_pad = -before <= i < size + after
        if 0 <= i < size:
            if not inside_pad:
                return "cropped"
            if transposed and i % axis.stride:
                return "zero"
            return "dropped" if unread(i) else "input"
        return "pad" if inside_pad else "overhang"

    def window(j: int) -> tuple[int, ...]:
        base = j * step - before
        return tuple(base + t * d for t in range(k))

    windows = _seq(out, window) if out * k <= LIST_CELLS else _Lazy(out, window)
    return AxisScene(size, (before, after), lo, _seq(hi - lo, kind), windows, axis.stride, d, k, step, before)


def _input_cropped(axis: AxisTranspose, i: int) -> bool:
    """Whether every output that transposed input ``i`` writes is cropped away (O(1))."""
    base, d = i * axis.stride - axis.pad_before, axis.dilation
    t = max(-(base // d), 0)  # first tap at an output index >= 0
    return t >= axis.kernel or base + t * d >= axis.output


@dataclass(frozen=True)
class Scene:
    """An N-D scene: one :class:`AxisScene` per spatial axis, plus the op it came from."""

    op: str
    axes: tuple[AxisScene, ...]

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def output(self) -> tuple[int, ...]:
        return tuple(a.output for a in self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shown source cells per axis."""
        return tuple(_length(a.kinds) for a in self.axes)

    def kind(self, index: Sequence[int]) -> str:
        """Kind of a source cell; the strongest kind over the axes wins.

        >>> from padstride.geometry import conv
        >>> scene(conv((3, 3), 3, padding="same")).kind((-1, 1))
        'pad'
        """
        return max((a.kind(i) for a, i in zip(self.axes, index, strict=True)), key=_RANK.__getitem__)

    def positions(self) -> Iterator[tuple[int, ...]]:
        """Output positions in raster order (last axis fastest): one animation frame each."""
        return itertools.product(*(range(a.output) for a in self.axes))

    def window(self, position: Sequence[int]) -> list[tuple[int, ...]]:
        """Source cells read by output ``position`` (a list of kernel-size length: see
        :meth:`reads` for a membership test of any size)."""
        return list(itertools.product(*(a.windows[j] for a, j in zip(self.axes, position, strict=True))))

    def reads(self, position: Sequence[int], index: Sequence[int]) -> bool:
        """Whether output ``position`` reads source cell ``index`` (O(1) per axis)."""
        return all(a.reads(j, i) for a, j, i in zip(self.axes, position, index, strict=True))

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "axes": [a.to_dict() for a in self.axes]}


def scene(geometry: AnyGeometry) -> Scene:
    """Scene of a :class:`~padstride.geometry.Geometry` (conv, pool or transposed conv).

    >>> from padstride.geometry import pool
    >>> scene(pool((4, 5), 2)).axes[1].kinds[-1]
    'dropped'
    """
    return Scene(geometry.op, tuple(axis_scene(a) for a in geometry.axes))


def as_2d(sc: Scene) -> Scene:
    """The scene as rows × columns: a 1-D scene becomes one row; beyond 2-D, the last two axes.

    >>> from padstride.geometry import conv
    >>> as_2d(scene(conv(5, 3))).shape
    (1, 5)
    """
    if sc.ndim == 1:
        row = AxisScene(1, (0, 0), 0, ("input",), ((0,),))
        return Scene(sc.op, (row, sc.axes[0]))
    return Scene(sc.op, sc.axes[-2:])
