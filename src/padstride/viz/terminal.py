"""2-D drawings of a window op with box characters, for ``padstride explain --draw``.

Pure text, no plotting library. Box rules separate the input from its padding; the output grid
stands to the right.

>>> from padstride.geometry import conv
>>> print(draw_2d(conv((3, 4), 3, stride=2, padding="same"), window=(0, 0), legend=False))
┌─────────┬───┐   2×2
│ ○ ○ ○ · │ · │   ┌─────┐
├─────────┼───┤   │ ▣ □ │
│ ● ● ● ■ │ · │   │ □ □ │
│ ● ● ● ■ │ · │   └─────┘
│ ■ ■ ■ ■ │ · │
├─────────┼───┤
│ · · · · │ · │
└─────────┴───┘
"""

from __future__ import annotations

from ..geometry import AnyGeometry
from .scene import AxisScene, Scene, as_2d, scene

__all__ = ["GLYPHS", "draw_2d"]

#: One single-width glyph per cell kind; ``tap`` / ``tap_pad``: under the highlighted window.
GLYPHS: dict[str, str] = {
    "input": "■", "dropped": "×", "pad": "·", "zero": "∘", "cropped": "░", "overhang": "◌",
    "tap": "●", "tap_pad": "○", "out": "□", "out_now": "▣",
}

_LEGEND = (
    ("input", "input"), ("dropped", "never read"), ("pad", "padding"), ("zero", "inserted zero"),
    ("cropped", "cropped"), ("overhang", "ceil_mode overhang"),
)

Col = int | None  # a shown index, or None for an elided run


def _shown(lo: int, hi: int, limit: int) -> list[Col]:
    """Indices to draw; the middle of a long axis becomes one ``None`` (an ellipsis)."""
    if hi - lo <= limit:
        return list(range(lo, hi))
    half = max(limit // 2, 1)
    return [*range(lo, lo + half), None, *range(hi - half, hi)]


def _tokens(axis: AxisScene, limit: int) -> list[Col | str]:
    """Shown indices with ``'|'`` wherever a region boundary falls between two of them."""
    out: list[Col | str] = []
    prev: int | None = None
    for col in _shown(axis.lo, axis.hi, limit):
        if col is not None and prev is not None and any(prev < b <= col for b in axis.boundaries):
            out.append("|")
        out.append(col)
        if col is not None:
            prev = col
    return out


def _rule(tokens: list[Col | str], left: str, mid: str, right: str) -> str:
    return left + "".join("─" + mid if t == "|" else "──" for t in tokens) + "─" + right


def _grid(sc: Scene, window: tuple[int, ...] | None, limit: int) -> list[str]:
    rows_axis, cols_axis = sc.axes
    rows, cols = _tokens(rows_axis, limit), _tokens(cols_axis, limit)
    lines = [_rule(cols, "┌", "┬", "┐")]
    for r in rows:
        if isinstance(r, str):  # the only string token: "|"
            lines.append(_rule(cols, "├", "┼", "┤"))
            continue
        cells = []
        for c in cols:
            if isinstance(c, str):  # "|"
                cells.append(" │")
            elif r is None or c is None:
                cells.append(" ⋮" if c is not None else " ⋯")
            else:
                kind = sc.kind((r, c))
                if window is not None and sc.reads(window, (r, c)):
                    kind = "tap" if kind in ("input", "dropped") else "tap_pad"
                cells.append(" " + GLYPHS[kind])
        lines.append("│" + "".join(cells) + " │")
    lines.append(_rule(cols, "└", "┴", "┘"))
    return lines


def _output_grid(shape: tuple[int, int], window: tuple[int, ...] | None, limit: int) -> list[str]:
    rows, cols = _shown(0, shape[0], limit), _shown(0, shape[1], limit)
    lines = [f"{shape[0]}×{shape[1]}", "┌" + "──" * len(cols) + "─┐"]
    for r in rows:
        cells = []
        for c in cols:
            if r is None or c is None:
                cells.append(" ⋮" if c is not None else " ⋯")
            else:
                cells.append(" " + GLYPHS["out_now" if window == (r, c) else "out"])
        lines.append("│" + "".join(cells) + " │")
    lines.append("└" + "──" * len(cols) + "─┘")
    return lines


def draw_2d(
    geometry: AnyGeometry,
    window: tuple[int, ...] | None = None,
    *,
    max_cells: int = 24,
    legend: bool = True,
) -> str:
    """Box-character drawing of the (padded) input and the output of a 1-D or 2-D geometry.

    ``window`` is an output position whose input cells are marked (``●`` on input, ``○`` on
    padding). Axes longer than ``max_cells`` are elided in the middle. For 3-D and more, the last
    two axes are drawn. A transposed convolution is drawn as the equivalent stride-1 convolution
    over the zero-stuffed input.

    >>> from padstride.geometry import conv
    >>> print(draw_2d(conv(5, 3, padding="causal"), legend=False))
    ┌─────┬───────────┐   1×5
    │ · · │ ■ ■ ■ ■ ■ │   ┌───────────┐
    └─────┴───────────┘   │ □ □ □ □ □ │
                          └───────────┘
    """
    full = scene(geometry)
    sc = as_2d(full)
    if window is not None:
        window = (0, *window[-1:]) if full.ndim == 1 else tuple(window[-2:])
    if window is not None:
        window = tuple(int(j) for j in window)
        if any(not 0 <= j < n for j, n in zip(window, sc.output, strict=True)):
            raise ValueError(f"window {window} is outside the output {sc.output}")
    left = _grid(sc, window, max_cells)
    right = _output_grid((sc.output[0], sc.output[1]), window, max_cells)
    width = max(len(line) for line in left)
    height = max(len(left), len(right))
    left += [""] * (height - len(left))
    right += [""] * (height - len(right))
    lines = [(a.ljust(width) + "   " + b).rstrip() for a, b in zip(left, right, strict=True)]
    if legend:
        present = {a.kind(i) for a in sc.axes for i in _shown(a.lo, a.hi, max_cells) if i is not None}
        items = [f"{GLYPHS[k]} {text}" for k, text in _LEGEND if k in present]
        if window is not None:
            items.append(f"{GLYPHS['tap']}{GLYPHS['tap_pad']} window of output {window}")
        lines.append("  ".join(items))
    return "\n".join(lines)
