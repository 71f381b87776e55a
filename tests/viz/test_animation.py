"""Animations: one frame per output position, pixels where the geometry says, the gallery, the CLI."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from padstride.cli import main
from padstride.geometry import PaddingError, conv, conv_transpose, pool
from padstride.viz.animation import frames, mp4_available, save_frames
from padstride.viz.gallery import GALLERY, write_gallery
from padstride.viz.raster import COLORS, layout
from padstride.viz.scene import as_2d, scene

from ._oracle import conv_read_mask, transpose_read_mask

CELL = 6


@settings(derandomize=True, max_examples=25, deadline=None)
@given(st.data())
def test_pixel_probe_pads_and_dropped(data: st.DataObject) -> None:
    """Every source cell's centre pixel has the colour of its kind: pads from geometry, reads from torch."""
    n = (data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7)))
    k = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    s = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    pads = tuple(data.draw(st.tuples(st.integers(0, 3), st.integers(0, 3))) for _ in range(2))
    try:
        g = conv(n, k, s, pads)
    except PaddingError:
        assume(False)
    shape, read = conv_read_mask(n, k, s, (1, 1), g.pads)
    images = frames(g, cell=CELL)
    assert len(images) == shape[0] * shape[1]
    position = data.draw(st.integers(0, len(images) - 1))
    img = images[position]
    lay = layout(as_2d(scene(g)), CELL)
    out = (position // shape[1], position % shape[1])
    taps = set(itertools.product(g.axes[0].taps(out[0]), g.axes[1].taps(out[1])))
    for r, c in itertools.product(range(-pads[0][0], n[0] + pads[0][1]), range(-pads[1][0], n[1] + pads[1][1])):
        inside = 0 <= r < n[0] and 0 <= c < n[1]
        kind = ("input" if read[r, c] else "dropped") if inside else "pad"
        if (r, c) in taps:
            kind = "tap_" + kind
        y, x = lay.centre(lay.source_box((r, c)))
        assert tuple(img[y, x]) == COLORS[kind], (n, k, s, pads, position, r, c)
    y, x = lay.centre(lay.output_box(out))
    assert tuple(img[y, x]) == COLORS["out_now"]


@pytest.mark.parametrize("geometry, oracle", [
    (conv(9, 3, stride=2, padding="same", dilation=2), None),
    (pool((5, 7), 2, ceil_mode=True), None),
    (conv_transpose((3, 2), 3, stride=2, padding=1, output_padding=1),
     ((3, 2), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1))),
    (conv_transpose(4, 2, stride=3, padding=0), ((4,), (2,), (3,), (1,), (0,), (0,))),
])
def test_frame_count_is_output_positions(tmp_path: Path, geometry: object, oracle: tuple | None) -> None:
    images = frames(geometry, cell=CELL)
    want = int(np.prod(geometry.output))  # type: ignore[attr-defined]
    if oracle is not None:
        want = int(np.prod(transpose_read_mask(*oracle)[0]))
    assert len(images) == want
    path = save_frames(images, tmp_path / "a.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == want


def test_transposed_frame_shows_inserted_zeros() -> None:
    g = conv_transpose((2, 2), 3, stride=2)
    img = frames(g, cell=CELL)[0]
    lay = layout(as_2d(scene(g)), CELL)
    y, x = lay.centre(lay.source_box((1, 1)))  # between the four inputs at (0|2, 0|2)
    assert tuple(img[y, x]) in (COLORS["zero"], COLORS["tap_zero"])
    y, x = lay.centre(lay.source_box((2, 2)))
    assert tuple(img[y, x]) in (COLORS["input"], COLORS["tap_input"])


def test_gallery(tmp_path: Path) -> None:
    paths = write_gallery(tmp_path, cell=4)
    assert len(paths) == len(GALLERY) + 1 and paths[-1].name == "index.md"
    guide = {"no_padding_no_strides": 2, "arbitrary_padding_no_strides": 6, "same_padding_no_strides": 5,
             "full_padding_no_strides": 7, "no_padding_strides": 2, "padding_strides": 3,
             "padding_strides_odd": 3, "no_padding_no_strides_transposed": 4,
             "arbitrary_padding_no_strides_transposed": 5, "same_padding_no_strides_transposed": 5,
             "full_padding_no_strides_transposed": 5, "no_padding_strides_transposed": 5,
             "padding_strides_transposed": 5, "padding_strides_odd_transposed": 6, "dilation": 3}
    for case, path in zip(GALLERY, paths, strict=False):
        with Image.open(path) as gif:
            assert gif.n_frames == int(np.prod(case.geometry().output)), case.name
        if case.name in guide:
            assert case.geometry().output == (guide[case.name],) * 2, case.name


def test_cli_animate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.gif"
    assert main(["animate", "-i", "6,6", "-k", "3", "-s", "2", "-p", "same", "-o", str(out), "--cell", "6"]) == 0
    with Image.open(out) as gif:
        assert gif.n_frames == 9
    assert main(["animate", "--gallery", str(tmp_path / "g"), "--case", "dilation", "--json"]) == 0
    assert (tmp_path / "g" / "dilation.gif").exists()
    capsys.readouterr()
    assert main(["animate", "-i", "3", "-k", "5", "-o", str(tmp_path / "bad.gif")]) == 2
    assert not (tmp_path / "bad.gif").exists()
    assert main(["animate", "-i", "3", "-o", str(tmp_path / "bad.png")]) == 2
    assert main(["animate", "--gallery", str(tmp_path), "--case", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 3 and "Traceback" not in err


@pytest.mark.skipif(not mp4_available(), reason="imageio's ffmpeg plugin (imageio-ffmpeg) is not installed")
def test_mp4(tmp_path: Path) -> None:
    path = save_frames(frames(conv((4, 4), 3), cell=8), tmp_path / "a.mp4")
    assert path.stat().st_size > 0


@pytest.mark.parametrize("geometry", [
    conv((5, 6), 3, stride=2, padding="same"),
    conv(8, 3, dilation=2, padding=(3, -1)),
    conv_transpose((3, 3), 3, stride=2, padding=1, output_padding=1),
    pool((5, 5), 2, ceil_mode=True),
])
def test_numbers_are_window_sums(geometry: object) -> None:
    """With --numbers, each output equals the sum (conv, kernel of ones) or max (pool) of its drawn window."""
    from padstride.viz.animation import cell_values

    values = cell_values(geometry)
    if values is None:
        pytest.skip("padstride.engine does not provide this op in this build")
    source, output = values
    full = scene(geometry)
    sc = as_2d(full)
    lo = (sc.axes[0].lo, sc.axes[1].lo)
    for pos in full.positions():
        pos2 = (0, *pos) if full.ndim == 1 else tuple(pos)
        cells = [source[r - lo[0], c - lo[1]] for r, c in sc.window(pos2)]
        cells = [v for v in cells if not np.isnan(v)]
        want = max(cells) if geometry.op == "pool" else sum(cells)  # type: ignore[attr-defined]
        assert output[pos2] == want, (geometry, pos)
    frames(geometry, cell=12, numbers=True)  # draws the numbers without error
