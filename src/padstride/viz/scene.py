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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["KINDS", "AxisScene", "Scene", "as_2d", "axis_scene", "scene"]

#: Cell kinds, drawn distinctly. ``zero``: inserted between inputs by a transposed convolution;
#: ``cropped``: input removed by a negative pad; ``overhang``: outside the padded input but under
#: a ``ceil_mode`` window (ignored by the op); ``dropped``: input that no window reads.
KINDS: tuple[str, ...] = ("input", "dropped", "pad", "zero", "cropped", "overhang")

# When two axes disagree, the stronger kind wins (a pixel in a pad row is a pad pixel).
_RANK = {"cropped": 5, "overhang": 4, "pad": 3, "zero": 2, "dropped": 1, "input": 0}


@dataclass(frozen=True)
class AxisScene:
    """One axis of a scene: shown source indices ``lo … hi−1``, their kinds, and each window's taps.

    ``size`` is the source length (input, or zero-stuffed input), ``pads`` those of the
    convolution that is drawn (negative = crop), ``windows[j]`` the source indices read by
    output ``j``.
    """

    size: int
    pads: tuple[int, int]
    lo: int
    kinds: tuple[str, ...]
    windows: tuple[tuple[int, ...], ...]
    stride: int = 1
    dilation: int = 1

    @property
    def hi(self) -> int:
        return self.lo + len(self.kinds)

    @property
    def output(self) -> int:
        return len(self.windows)

    def kind(self, i: int) -> str:
        """Kind of source index ``i`` (must be shown)."""
        return self.kinds[i - self.lo]

    @property
    def boundaries(self) -> tuple[int, ...]:
        """Indices where a region starts or ends strictly inside the shown range (for drawing rules)."""
        edges = {0, self.size, -self.pads[0], self.size + self.pads[1]}
        return tuple(sorted(e for e in edges if self.lo < e < self.hi))

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.size, "pads": list(self.pads), "lo": self.lo, "hi": self.hi,
            "kinds": list(self.kinds), "windows": [list(w) for w in self.windows],
            "stride": self.stride, "dilation": self.dilation,
        }


def axis_scene(axis: Any) -> AxisScene:
    """Scene of one :class:`~padstride.geometry.AxisWindow` or :class:`~padstride.geometry.AxisTranspose`.

    >>> from padstride.geometry import conv_transpose_axis, pool_axis
    >>> axis_scene(conv_transpose_axis(2, 3, 2, padding=0, output_padding=0)).kinds
    ('pad', 'pad', 'input', 'zero', 'input', 'pad', 'pad')
    >>> axis_scene(pool_axis(5, 2, ceil_mode=True)).kinds
    ('input', 'input', 'input', 'input', 'input', 'overhang')
    """
    if hasattr(axis, "targets"):  # transposed: a stride-1 conv over the zero-stuffed input
        size = (axis.input - 1) * axis.stride + 1
        before, after = axis.conv_pads()
        windows = tuple(
            tuple(o - before + t * axis.dilation for t in range(axis.kernel)) for o in range(axis.output)
        )
        real = {i * axis.stride for i in range(axis.input)}
        dropped = {i * axis.stride for i in axis.dropped}
        stride, dilation = axis.stride, axis.dilation
    else:
        size, (before, after) = axis.input, axis.pads
        windows = tuple(axis.taps(j) for j in range(axis.output))
        real, dropped = set(range(size)), set(axis.dropped)
        stride, dilation = axis.stride, axis.dilation
    touched = [i for w in windows for i in w]
    lo = min([0, -before, *touched])
    hi = max([size, size + after, *(i + 1 for i in touched)])
    kinds = []
    for i in range(lo, hi):
        inside_pad = -before <= i < size + after
        if 0 <= i < size:
            if not inside_pad:
                kind = "cropped"
            elif i not in real:
                kind = "zero"
            else:
                kind = "dropped" if i in dropped else "input"
        else:
            kind = "pad" if inside_pad else "overhang"
        kinds.append(kind)
    return AxisScene(size, (before, after), lo, tuple(kinds), windows, stride, dilation)


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
        return tuple(len(a.kinds) for a in self.axes)

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
        """Source cells read by output ``position``."""
        return list(itertools.product(*(a.windows[j] for a, j in zip(self.axes, position, strict=True))))

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "axes": [a.to_dict() for a in self.axes]}


def scene(geometry: Any) -> Scene:
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
