"""One-line ASCII drawings of one axis: padding, real input, never-read pixels, window starts.

>>> from padstride.geometry import conv_axis
>>> print(draw_axis(conv_axis(8, 3, stride=2, padding="same")))
|oooooooo|-
 ^ ^ ^ ^
"""

from __future__ import annotations

from ..geometry import AxisWindow

__all__ = ["LEGEND", "draw_axis"]

LEGEND = "'-' padding, 'o' input read, 'x' input never read, '^' window start"


def _char(window: AxisWindow, col: int) -> str:
    """Character of column ``col``: left pads, ``|``, the input, ``|``, right pads."""
    pad_b, n = max(window.pad_before, 0), window.input
    if col < pad_b or col > pad_b + n + 1:
        return "-"
    if col in (pad_b, pad_b + n + 1):
        return "|"
    return "x" if window.read_count(col - pad_b - 1) == 0 else "o"


def _index(window: AxisWindow, col: int) -> int | None:
    """Input index (negative = left padding, ≥ input = right padding) drawn at column ``col``."""
    pad_b, n = max(window.pad_before, 0), window.input
    if col < pad_b:
        return col - pad_b
    if col in (pad_b, pad_b + n + 1):
        return None
    return col - pad_b - 1 if col <= pad_b + n else col - pad_b - 2


def _mark(window: AxisWindow, col: int) -> str:
    """``^`` where a window starts (O(1): starts are ``j·stride − pad_before``)."""
    index = _index(window, col)
    if index is None:
        return " "
    j, r = divmod(index + window.pad_before, window.stride)
    return "^" if r == 0 and 0 <= j < window.output else " "


def draw_axis(window: AxisWindow, width: int = 72) -> str:
    """Two text lines: the padded input of a conv/pool axis and, below it, where windows start.

    Negative pads (crops) show as never-read input. Long axes keep both ends, eliding the middle;
    only the drawn columns are computed, so any length costs the same.

    >>> from padstride.geometry import conv_axis
    >>> print(draw_axis(conv_axis(10**12, 3, stride=2), width=13))
    |ooooo…oooox|
     ^ ^ ^  ^
    """
    total = max(window.pad_before, 0) + window.input + 2 + max(window.pad_after, 0)
    if total <= width:
        cols: list[int | None] = list(range(total))
    else:
        keep = (width - 1) // 2
        cols = [*range(keep), None, *range(total - keep, total)]
    top = "".join("…" if c is None else _char(window, c) for c in cols)
    bottom = "".join(" " if c is None else _mark(window, c) for c in cols)
    return f"{top}\n{bottom.rstrip()}"
