"""One-line ASCII drawings of one axis; the drawing lives in :mod:`padstride.explain.strip` (explain
is the lower layer and draws it for ``padstride explain``), re-exported here for pictures.

>>> from padstride.geometry import conv_axis
>>> print(draw_axis(conv_axis(5, 3)))
|ooooo|
 ^^^
"""

from __future__ import annotations

from ..explain.strip import LEGEND, draw_axis

__all__ = ["LEGEND", "draw_axis"]
