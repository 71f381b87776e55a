"""Rasterize a scene to an RGB array with NumPy (no plotting library; fast enough per frame).

The source grid (input, padding, inserted zeros) is on the left, the output grid on the right.
:class:`Layout` maps a cell to its pixel box, so tests can probe what was drawn where.

>>> from padstride.geometry import conv
>>> img = render(conv((4, 4), 3, padding=1), position=(0, 0), cell=10)
>>> img.shape, img.dtype
((70, 130, 3), dtype('uint8'))
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from ..geometry import AnyGeometry
from .scene import Scene, as_2d, scene
from .view import AxisView, views

__all__ = ["COLORS", "MAX_PIXELS", "Layout", "layout", "render", "render_scene"]

RGB = tuple[int, int, int]

#: Fill colour per cell kind (``tap_*``: the same cell under the current window).
COLORS: dict[str, RGB] = {
    "background": (255, 255, 255),
    "input": (128, 177, 226),
    "dropped": (222, 102, 94),
    "pad": (226, 226, 226),
    "zero": (244, 244, 244),
    "cropped": (170, 170, 170),
    "overhang": (250, 232, 160),
    "tap_input": (29, 84, 158),
    "tap_dropped": (150, 30, 30),
    "tap_pad": (140, 140, 140),
    "tap_zero": (180, 180, 180),
    "tap_overhang": (214, 170, 40),
    "tap_cropped": (110, 110, 110),
    "window": (20, 20, 20),
    "out": (190, 228, 214),
    "out_done": (72, 170, 140),
    "out_now": (240, 140, 40),
    "text": (0, 0, 0),
}


@dataclass(frozen=True)
class Layout:
    """Pixel geometry of a rendered scene: cell size, where each grid starts, image size, and which
    source / output indices are drawn in which slot (a windowed view elides the middle)."""

    cell: int
    source_origin: tuple[int, int]  # (x, y) of the first shown source cell
    source_lo: tuple[int, int]  # source index of that cell (row, col)
    output_origin: tuple[int, int]
    width: int
    height: int
    views: tuple[AxisView, AxisView] | None = None

    def _slot(self, axis: int, index: int, which: str) -> int:
        if self.views is None:
            return index - (self.source_lo[axis] if which == "cells" else 0)
        slots = self.views[axis].slots(which)
        if index not in slots:
            raise ValueError(f"{which[:-1]} {index} of axis {axis} is not drawn (elided)")
        return slots[index]

    def source_box(self, index: Sequence[int]) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` of source cell ``(row, col)`` (padding indices are negative)."""
        x = self.source_origin[0] + self._slot(1, index[1], "cells") * self.cell
        y = self.source_origin[1] + self._slot(0, index[0], "cells") * self.cell
        return (x, y, x + self.cell, y + self.cell)

    def output_box(self, position: Sequence[int]) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` of output cell ``(row, col)``."""
        x = self.output_origin[0] + self._slot(1, position[1], "outputs") * self.cell
        y = self.output_origin[1] + self._slot(0, position[0], "outputs") * self.cell
        return (x, y, x + self.cell, y + self.cell)

    def slot_box(self, grid: str, slot: tuple[int, int]) -> tuple[int, int, int, int]:
        """Box of a drawn slot ``(row, col)`` of the ``"source"`` or ``"output"`` grid."""
        ox, oy = self.source_origin if grid == "source" else self.output_origin
        x, y = ox + slot[1] * self.cell, oy + slot[0] * self.cell
        return (x, y, x + self.cell, y + self.cell)

    def centre(self, box: tuple[int, int, int, int]) -> tuple[int, int]:
        """``(y, x)`` of a box's centre pixel, for indexing an image array."""
        return ((box[1] + box[3]) // 2, (box[0] + box[2]) // 2)


#: Largest image side, in pixels: a cell size that would exceed it is refused.
MAX_PIXELS = 8192


def layout(sc: Scene, cell: int = 24, drawn: tuple[AxisView, ...] | None = None) -> Layout:
    """Where the grids of a 2-D (or flattened 1-D) scene go; ``drawn`` defaults to :func:`views`.

    >>> from padstride.geometry import conv
    >>> layout(as_2d(scene(conv(5, 3))), cell=10).output_origin
    (75, 5)
    """
    v = views(sc) if drawn is None else drawn
    rows, cols = len(v[0].cells), len(v[1].cells)
    out_rows, out_cols = len(v[0].outputs), len(v[1].outputs)
    margin = max(cell // 2, 2)
    ox = margin + cols * cell + 2 * cell
    width = ox + out_cols * cell + margin
    height = 2 * margin + max(rows, out_rows) * cell
    if max(width, height) > MAX_PIXELS:
        raise ValueError(f"a {width}×{height}-pixel picture is past the {MAX_PIXELS}-pixel limit; use a smaller cell")
    elided = any(a.elided for a in v)
    return Layout(cell, (margin, margin), (sc.axes[0].lo, sc.axes[1].lo), (ox, margin), width, height,
                  (v[0], v[1]) if elided else None)


def _fill(img: np.ndarray, box: tuple[int, int, int, int], color: RGB, inset: int = 1) -> None:
    x0, y0, x1, y1 = box
    img[y0 + inset:y1 - inset, x0 + inset:x1 - inset] = color


def _outline(img: np.ndarray, box: tuple[int, int, int, int], color: RGB, width: int = 2) -> None:
    x0, y0, x1, y1 = box
    img[y0:y0 + width, x0:x1] = color
    img[y1 - width:y1, x0:x1] = color
    img[y0:y1, x0:x0 + width] = color
    img[y0:y1, x1 - width:x1] = color


def _hatch(img: np.ndarray, box: tuple[int, int, int, int], color: RGB) -> None:
    x0, y0, x1, y1 = box
    yy, xx = np.mgrid[y0 + 1:y1 - 1, x0 + 1:x1 - 1]
    mask = ((xx - x0) + (yy - y0)) % 6 == 0
    img[y0 + 1:y1 - 1, x0 + 1:x1 - 1][mask] = color


def _ellipsis(img: np.ndarray, box: tuple[int, int, int, int]) -> None:
    """Three dots: the elided middle of a windowed axis."""
    x0, y0, x1, y1 = box
    cy, w = (y0 + y1) // 2, max((x1 - x0) // 8, 1)
    for k in (1, 2, 3):
        cx = x0 + k * (x1 - x0) // 4
        img[cy - w // 2:cy - w // 2 + w, cx - w // 2:cx - w // 2 + w] = COLORS["text"]


def render_scene(
    sc: Scene,
    position: Sequence[int] | None = None,
    done: Collection[tuple[int, ...]] = (),
    cell: int = 24,
    values: tuple[np.ndarray, np.ndarray] | None = None,
    base: np.ndarray | None = None,
    drawn: tuple[AxisView, ...] | None = None,
) -> np.ndarray:
    """RGB ``uint8`` image of a 2-D scene with output ``position`` being computed.

    ``done`` are output positions already computed; ``values`` an ``(input, output)`` pair of
    arrays whose numbers are written in the cells; ``base`` a previous :func:`render_scene`
    without a position, reused to skip redrawing the static cells; ``drawn`` the views
    (default :func:`views`: the whole scene when small, else a windowed view).
    """
    v = views(sc) if drawn is None else drawn
    lay = layout(sc, cell, v)
    if base is None:
        img = np.empty((lay.height, lay.width, 3), np.uint8)
        img[:] = COLORS["background"]
        for sr, r in enumerate(v[0].cells):
            for scol, c in enumerate(v[1].cells):
                box = lay.slot_box("source", (sr, scol))
                if r is None or c is None:
                    _ellipsis(img, box)
                    continue
                kind = sc.kind((r, c))
                _fill(img, box, COLORS[kind])
                if kind == "cropped":
                    _hatch(img, box, (90, 90, 90))
        for sr, r in enumerate(v[0].outputs):
            for scol, c in enumerate(v[1].outputs):
                box = lay.slot_box("output", (sr, scol))
                if r is None or c is None:
                    _ellipsis(img, box)
                else:
                    _fill(img, box, COLORS["out"])
    else:
        img = base.copy()
    for pos in done:
        _fill(img, lay.output_box(pos), COLORS["out_done"])
    if position is not None:
        slots = [[k for k, i in enumerate(av.cells) if i is not None and a.reads(j, i)]
                 for a, av, j in zip(sc.axes, v, position, strict=True)]
        for sr in slots[0]:
            for scol in slots[1]:
                r, c = v[0].cells[sr], v[1].cells[scol]
                assert r is not None and c is not None
                _fill(img, lay.slot_box("source", (sr, scol)), COLORS["tap_" + sc.kind((r, c))])
        if slots[0] and slots[1]:
            first = lay.slot_box("source", (slots[0][0], slots[1][0]))
            last = lay.slot_box("source", (slots[0][-1], slots[1][-1]))
            _outline(img, (first[0], first[1], last[2], last[3]), COLORS["window"])
        _fill(img, lay.output_box(position), COLORS["out_now"])
        _outline(img, lay.output_box(position), COLORS["window"])
    if values is not None:
        img = _numbers(img, sc, lay, values, position, done, v)
    return img


def _numbers(
    img: np.ndarray, sc: Scene, lay: Layout, values: tuple[np.ndarray, np.ndarray],
    position: Sequence[int] | None, done: Collection[tuple[int, ...]], drawn: tuple[AxisView, ...],
) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    source, output = values
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    font = ImageFont.load_default(size=max(lay.cell * 0.42, 6))

    def write(box: tuple[int, int, int, int], value: float, color: RGB) -> None:
        text = f"{value:g}" if abs(value) < 1e4 else f"{value:.0e}"
        draw.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), text, fill=color, font=font, anchor="mm")

    r0, c0 = sc.axes[0].lo, sc.axes[1].lo
    for r in drawn[0].cells:
        for c in drawn[1].cells:
            if r is None or c is None:
                continue
            v = source[r - r0, c - c0]
            if not np.isnan(v):
                write(lay.source_box((r, c)), float(v), COLORS["text"])
    shown = set(done) | ({tuple(position)} if position is not None else set())
    for pos in shown:
        write(lay.output_box(pos), float(output[pos]), COLORS["text"])
    return np.asarray(pil)


def render(geometry: AnyGeometry, position: Sequence[int] | None = None, cell: int = 24) -> np.ndarray:
    """RGB image of a 1-D or 2-D geometry, optionally with one output ``position`` highlighted.

    >>> from padstride.geometry import pool
    >>> render(pool(6, 2), position=(1,), cell=8).shape
    (16, 96, 3)
    """
    full = scene(geometry)
    sc = as_2d(full)
    if position is not None and full.ndim == 1:
        position = (0, *position)
    return render_scene(sc, position, cell=cell)
