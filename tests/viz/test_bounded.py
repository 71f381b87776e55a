"""Pictures have a cell budget: large inputs are drawn as a windowed view (start, ellipsis, end),
checked against PyTorch's read mask, and every plot/animate option is range-checked.

The issue measured on main: ``animate -i 32,32`` MemoryError after 55 s, ``-i 200,200`` OOM-killed,
``--cell 100000`` a 1.8 TiB allocation; plots of 10^12 sizes/layers, huge pads and inputs tracebacks.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from padstride.cli import main
from padstride.geometry import PaddingError, conv
from padstride.viz.animation import frames, iter_frames
from padstride.viz.raster import COLORS, layout
from padstride.viz.scene import as_2d, scene
from padstride.viz.view import MAX_FRAMES, SEGMENT, views

from ._oracle import conv_read_mask

ROOT = Path(__file__).resolve().parents[2]
CELL = 6


@settings(derandomize=True, max_examples=12, deadline=None)
@given(st.data())
def test_windowed_frames_match_torch(data: st.DataObject) -> None:
    """Every drawn source cell of a windowed picture has the colour of its kind (torch's read mask)."""
    n = (data.draw(st.integers(30, 70)), data.draw(st.integers(1, 70)))
    k = (data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5)))
    s = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    d = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    pads = tuple(data.draw(st.tuples(st.integers(0, 3), st.integers(0, 3))) for _ in range(2))
    try:
        g = conv(n, k, s, pads, d)
    except PaddingError:
        assume(False)
    _, read = conv_read_mask(n, k, s, d, g.pads)
    sc = as_2d(scene(g))
    drawn = views(sc)
    assert any(v.elided for v in drawn)
    positions = list(itertools.product(*([j for j in v.outputs if j is not None] for v in drawn)))
    assert len(positions) <= MAX_FRAMES
    pick = data.draw(st.integers(0, len(positions) - 1))
    img = next(itertools.islice(iter_frames(g, cell=CELL), pick, None))
    lay = layout(sc, CELL)
    out = positions[pick]
    taps = set(itertools.product(g.axes[0].taps(out[0]), g.axes[1].taps(out[1])))
    for r, c in itertools.product(*(v.cells for v in drawn)):
        if r is None or c is None:
            continue
        inside = 0 <= r < n[0] and 0 <= c < n[1]
        padded = -g.pads[0][0] <= r < n[0] + g.pads[0][1] and -g.pads[1][0] <= c < n[1] + g.pads[1][1]
        kind = ("input" if read[r, c] else "dropped") if inside else ("pad" if padded else "overhang")
        if (r, c) in taps:
            kind = "tap_" + kind
        y, x = lay.centre(lay.source_box((r, c)))
        assert tuple(img[y, x]) == COLORS[kind], (n, k, s, d, pads, out, r, c)
    y, x = lay.centre(lay.output_box(out))
    assert tuple(img[y, x]) == COLORS["out_now"]


def test_windowed_view_keeps_both_ends() -> None:
    sc = as_2d(scene(conv((10**12, 224), 3, stride=2, padding="same")))
    rows, cols = views(sc)
    assert rows.cells[0] == 0 and rows.cells[-1] == 10**12 and None in rows.cells
    assert rows.outputs[0] == 0 and rows.outputs[-1] == 5 * 10**11 - 1
    assert len(rows.cells) <= 2 * SEGMENT + 1 and len(cols.cells) <= 2 * SEGMENT + 1
    assert len(frames(conv((10**12, 10**12), 3, stride=2), cell=4)) <= MAX_FRAMES


def _animate(tmp_path: Path, *argv: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The CLI in a subprocess under a 2 GiB address-space limit and a timeout."""
    out = tmp_path / "a.gif"
    code = ("import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
            f"sys.argv = ['padstride', 'animate', *{list(argv)!r}, '-o', {str(out)!r}]; "
            "runpy.run_module('padstride', run_name='__main__')")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    return proc, out


@pytest.mark.parametrize("size", ["224,224", "32,32"])
def test_animate_large_input_is_a_windowed_gif(tmp_path: Path, size: str) -> None:
    proc, out = _animate(tmp_path, "-i", size, "-k", "3", "-p", "same")
    assert proc.returncode == 0, proc.stderr[-2000:]
    with Image.open(out) as gif:
        assert gif.n_frames == 144 and max(gif.size) < 2000


@pytest.mark.parametrize("argv", [
    ["--cell", "100000"], ["--cell", "3"], ["--fps", "0"], ["--fps", "nan"], ["--fps", "inf"],
])
def test_animate_options_refused_at_parse(tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["animate", "-i", "5,5", *argv, "-o", str(tmp_path / "a.gif")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("argv, message", [
    (["size", "--sizes", "1:1000000000000"], "at most 10,000 values"),
    (["rf", "--stack", "c3x1000000000000"], "more than 1000 layers"),
    (["padded", "--pads", "100000:100000"], "--pads must be between 0 and 100"),
    (["erf", "-i", "100000,100000"], "H·W <= 1,048,576"),
    (["erf", "--model", "tests/viz/_models.py:nothing", "-i", "3,100000,100000"], "H·W <= 1,048,576"),
    (["stride", "-i", "0", "-k", "3"], "--input must be between 1"),
    (["rf", "--stack", "c3", "-i", "64", "--unit", "999"], "unit 999 is outside layer conv0's 62 units"),
    (["rf", "--stack", "c3", "-i", "64", "--unit", "-1"], "--unit must be >= 0"),
])
def test_plot_bounds_are_one_line(tmp_path: Path, argv: list[str], message: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", *argv, "-o", str(tmp_path / "a.png")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("argv", [["size", "-k", "0"], ["size", "-k", "3", "-s", "-1"], ["stride", "-d", "0"]])
def test_plot_ranges_refused_at_parse(tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["plot", *argv, "-o", str(tmp_path / "a.png")])
    assert exc.value.code == 2 and "must be between 1 and" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_plot_size_shows_coinciding_lines() -> None:
    from padstride.viz.plots import output_vs_input

    lines = output_vs_input(3, 2, 1, range(1, 30)).axes[0].get_lines()
    labels = [line.get_label() for line in lines]
    assert labels == ["valid", "same", "full", "causal (= same)"]
    same, causal = lines[1], lines[3]
    assert np.array_equal(same.get_ydata(), causal.get_ydata())
    assert same.get_linestyle() != causal.get_linestyle() and same.get_marker() != causal.get_marker()


def test_plot_erf_same_at_stride_2_uses_tf_pads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """TF SAME on 8 pixels, kernel 3, stride 2 pads (0, 1): unit 0 sees rows 0..2, not −1..1."""
    assert main(["plot", "erf", "--stack", "c3s2", "-i", "8,8", "--padding", "same", "--unit", "0,0", "--json",
                 "-o", str(tmp_path / "e.png")]) == 0
    data = json.loads(capsys.readouterr().out)["data"]
    assert data["theoretical"] == [[0, 2], [0, 2]]
    assert data["gradient_extent"] == [[0, 2], [0, 2]]


def test_no_retyped_pad_formulas_in_viz_explain_and_plot_cli() -> None:
    import re

    files = [*(ROOT / "src/padstride/viz").glob("*.py"), *(ROOT / "src/padstride/explain").glob("*.py"),
             *(ROOT / "src/padstride/cli").glob("[pae]*.py")]
    pattern = re.compile(r"\(\s*[\w.]*kernel\w*\s*-\s*1\s*\)|\(k\s*-\s*1\)|\(\s*n\s*-\s*t\s*\)\s*//\s*2")
    found = [f"{f.name}:{i}" for f in files for i, line in enumerate(f.read_text().splitlines(), 1)
             if pattern.search(line)]
    assert not found


@pytest.mark.parametrize("command", [
    ["plot", "size", "-o", "{file}/a.png"],
    ["plot", "size", "-o", "/proc/a.png"],
    ["plot", "size", "-o", "{dir}.png"],
    ["animate", "-i", "5,5", "-o", "{file}/a.gif"],
    ["animate", "-i", "5,5", "-o", "/proc/a.gif"],
    ["animate", "--gallery", "{file}/g", "--case", "dilation"],
    ["animate", "--gallery", "/proc/g", "--case", "dilation"],
])
def test_unwritable_outputs_are_one_line(tmp_path: Path, command: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep")
    (tmp_path / "adir.png").mkdir()
    argv = [a.format(file=afile, dir=tmp_path / "adir") for a in command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert (err.count("\n") == 1 and "Traceback" not in err and "cannot write" in err) or "directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.png", "afile"] and afile.read_text() == "keep"


def test_failed_save_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails half-way (here: the GIF encoder after the file is opened) leaves no file."""
    from PIL import GifImagePlugin

    from padstride.viz.animation import save_frames

    def broken(*args: object, **kw: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(GifImagePlugin, "_write_frame_data", broken)
    with pytest.raises(OSError, match="disk full"):
        save_frames(frames(conv((4, 4), 3), cell=4), tmp_path / "a.gif")
    assert not list(tmp_path.iterdir())


def test_scenes_longer_than_sys_maxsize() -> None:
    """A transposed convolution of 10^18 pixels at stride 1000 draws a 10^21-cell zero-stuffed axis."""
    from padstride.geometry import conv_transpose
    from padstride.viz.terminal import draw_2d

    g = conv_transpose((10**18, 5), 3, 1000, 1, dilation=7)
    sc = scene(g)
    assert sc.shape[0] > sys.maxsize and sc.axes[0].hi == (10**18 - 1) * 1000 + 1 + sc.axes[0].pads[1]
    assert "⋯" in draw_2d(g)
    assert len(frames(g, cell=4)) <= MAX_FRAMES
