"""One-line ASCII drawings of one axis: padding, real input, never-read pixels, window starts.

>>> from padstride.geometry import conv_axis
>>> print(draw_axis(conv_axis(8, 3, stride=2, padding="same")))
|oooooooo|-
 ^ ^ ^ ^
"""

from __future__ import annotations

from typing import Any

__all__ = ["LEGEND", "draw_axis"]

LEGEND = "'-' padding, 'o' input read, 'x' input never read, '^' window start"


def _cells(window: Any) -> list[str]:
    dropped = set(window.dropped)
    real = ["x" if i in dropped else "o" for i in range(window.input)]
    return ["-"] * max(window.pad_before, 0) + ["|"] + real + ["|"] + ["-"] * max(window.pad_after, 0)


def _column(window: Any, index: int) -> int:
    """Column of input index ``index`` (negative = left padding) in :func:`_cells`."""
    pad_b = max(window.pad_before, 0)
    return pad_b + index if index < 0 else pad_b + 1 + index


def draw_axis(window: Any, width: int = 72) -> str:
    """Two text lines: the padded input of a conv/pool axis and, below it, where windows start.

    Negative pads (crops) show as never-read input. Long axes keep both ends, eliding the middle.
    """
    cells = _cells(window)
    marks = [" "] * len(cells)
    for j in range(window.output):
        col = _column(window, window.start(j))
        if 0 <= col < len(marks):
            marks[col] = "^"
    top, bottom = "".join(cells), "".join(marks)
    if len(top) > width:
        keep = (width - 1) // 2
        top = top[:keep] + "…" + top[-keep:]
        bottom = bottom[:keep] + " " + bottom[-keep:]
    return f"{top}\n{bottom.rstrip()}"
