"""What part of a scene a picture draws: the whole of a small one, else a windowed view.

Pictures have a stated cell budget. An axis with at most :data:`SOURCE_CELLS` source cells and
:data:`OUTPUT_CELLS` outputs is drawn whole; a longer one is drawn as its start, an ellipsis and
its end: the first and last outputs (at most ``OUTPUT_CELLS // 2`` each) and the source cells their
windows read (at most :data:`SEGMENT` cells at each end). An animation has one frame per drawn
output position, at most :data:`MAX_FRAMES`. So a picture of a 224×224 (or 10^12-pixel) input costs
what a small one costs.

>>> from padstride.geometry import conv_axis
>>> from padstride.viz.scene import axis_scene
>>> v = axis_view(axis_scene(conv_axis(224, 3, padding="same")), 8)
>>> v.outputs
(0, 1, 2, 3, None, 220, 221, 222, 223)
>>> v.cells[:6], v.cells[-6:]
((-1, 0, 1, 2, 3, 4), (219, 220, 221, 222, 223, 224))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..geometry import effective_kernel
from .scene import AxisScene, Scene

__all__ = ["MAX_FRAMES", "OUTPUT_CELLS", "SEGMENT", "SOURCE_CELLS", "AxisView", "axis_view", "views"]

#: Source cells per axis drawn whole; a longer axis is windowed.
SOURCE_CELLS = 40
#: Source cells drawn at each end of a windowed axis, at most.
SEGMENT = 16
#: Output cells per axis drawn whole (2-D); a longer axis shows half of this at each end.
OUTPUT_CELLS = 12
#: Frames of an animation, at most (one per drawn output position).
MAX_FRAMES = 144

Slot = int | None  # a drawn index, or None for the ellipsis


@dataclass(frozen=True)
class AxisView:
    """Drawn source indices and output indices of one axis, in order; ``None`` is an ellipsis."""

    cells: tuple[Slot, ...]
    outputs: tuple[Slot, ...]

    @property
    def elided(self) -> bool:
        return None in self.cells or None in self.outputs

    def slots(self, which: str = "cells") -> dict[int, int]:
        """Index → position along the drawn axis."""
        return {i: k for k, i in enumerate(getattr(self, which)) if i is not None}


def axis_view(axis: AxisScene, max_outputs: int = OUTPUT_CELLS, max_cells: int = SOURCE_CELLS,
              segment: int = SEGMENT) -> AxisView:
    """The drawn part of one axis (see the module docstring); O(budget) for any length.

    In a windowed axis, the drawn outputs are those at each end whose windows start (or end)
    in the drawn cells.
    """
    out, lo, hi = axis.output, axis.lo, axis.hi
    if out <= max_outputs and hi - lo <= max_cells:
        return AxisView(tuple(range(lo, hi)), tuple(range(out)))
    h = min(max(max_outputs // 2, 1), (out + 1) // 2)
    head_end = min(max(axis.last_tap(h - 1), lo + 2), lo + segment - 1)
    tail_start = max(min(axis.first_tap(out - h), hi - 3), hi - segment)
    if head_end + 1 >= tail_start:  # both ends meet: every cell
        ends = (h, h)
        cells: tuple[Slot, ...] = tuple(range(lo, hi))
    else:
        span = effective_kernel(axis.kernel, axis.dilation) - 1
        head_n = min(h, max((head_end + axis.offset) // axis.step + 1, 1))
        tail_first = max(out - h, min(-((span - tail_start - axis.offset) // axis.step), out - 1))
        ends = (head_n, out - tail_first)
        cells = (*range(lo, head_end + 1), None, *range(tail_start, hi))
    if sum(ends) >= out:
        outputs: tuple[Slot, ...] = tuple(range(out))
    else:
        outputs = (*range(ends[0]), None, *range(out - ends[1], out))
    return AxisView(cells, outputs)


def views(sc: Scene) -> tuple[AxisView, ...]:
    """A view per axis of a 2-D scene (as :func:`~padstride.viz.scene.as_2d` gives), within
    :data:`MAX_FRAMES` output positions in all."""
    per_axis = max(math.isqrt(MAX_FRAMES), 2)
    if sc.axes[0].output == 1:  # a 1-D scene: one row, every frame along the columns
        return (axis_view(sc.axes[0], 1), axis_view(sc.axes[1], 2 * OUTPUT_CELLS))
    return tuple(axis_view(a, min(per_axis, OUTPUT_CELLS)) for a in sc.axes)
