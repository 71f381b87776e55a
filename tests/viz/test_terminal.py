"""Box drawings: the glyph grid, read back, shows pads and never-read pixels where torch says."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from padstride.geometry import PaddingError, conv, conv_transpose
from padstride.viz.terminal import GLYPHS, draw_2d

from ._oracle import conv_read_mask

BOX = set("┌┐└┘├┤┬┴┼─│ ")


def _glyph_rows(drawing: str) -> list[str]:
    """The source grid's glyphs, row by row, with box characters and the output grid removed."""
    rows = []
    for line in drawing.splitlines():
        left = line.split("   ")[0]
        cells = "".join(ch for ch in left if ch not in BOX)
        if cells:
            rows.append(cells)
    return rows


@settings(derandomize=True, max_examples=40, deadline=None)
@given(st.data())
def test_drawing_matches_torch(data: st.DataObject) -> None:
    n = (data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7)))
    k = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    s = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    pad = data.draw(st.one_of(st.sampled_from(["valid", "same", "same_lower", "full"]),
                              st.tuples(st.integers(0, 3), st.integers(0, 3))))
    try:
        g = conv(n, k, s, (pad, pad))
    except PaddingError:
        assume(False)
    shape, read = conv_read_mask(n, k, s, (1, 1), g.pads)
    rows = _glyph_rows(draw_2d(g, legend=False))
    (t, b), (left, right) = g.pads
    assert len(rows) == n[0] + t + b, (n, k, s, pad)
    for r, c in itertools.product(range(-t, n[0] + b), range(-left, n[1] + right)):
        glyph = rows[r + t][c + left]
        inside = 0 <= r < n[0] and 0 <= c < n[1]
        want = GLYPHS[("input" if read[r, c] else "dropped") if inside else "pad"]
        assert glyph == want, (n, k, s, pad, r, c)
    header = draw_2d(g, legend=False).splitlines()[0]
    assert header.endswith(f"{shape[0]}×{shape[1]}"), (header, shape)


def test_window_marks_taps() -> None:
    g = conv((4, 4), 3, stride=2, padding="same")
    rows = _glyph_rows(draw_2d(g, window=(1, 1), legend=False))
    taps = [(r, c) for r, line in enumerate(rows) for c, ch in enumerate(line)
            if ch in (GLYPHS["tap"], GLYPHS["tap_pad"])]
    assert len(taps) == 9
    assert sum(line.count(GLYPHS["tap_pad"]) for line in rows) == 5  # (0, 1) pads: last row and column


def test_transposed_and_1d_and_elision() -> None:
    text = draw_2d(conv_transpose(3, 3, stride=2, padding=1, output_padding=1))
    assert GLYPHS["zero"] in text and "inserted zero" in text
    big = draw_2d(conv((224, 224), 7, stride=2, padding="same"), window=(0, 0), max_cells=10)
    assert "⋯" in big and "112×112" in big and max(len(line) for line in big.splitlines()) < 90
    with pytest.raises(ValueError, match="outside the output"):
        draw_2d(conv((5, 5), 3), window=(3, 0))
    assert "3×7" in draw_2d(conv((2, 3, 7), 3, padding="same"))  # 3-D: last two axes
