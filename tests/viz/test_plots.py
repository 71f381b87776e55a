"""Plots and receptive fields: fields against torch gradients, pad modes against F.pad, files written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from padstride.cli import main
from padstride.geometry import PaddingError
from padstride.viz.erf import gradient_map, theoretical_field
from padstride.viz.plots import pad_image


@st.composite
def torch_stacks(draw: st.DrawFn) -> tuple[torch.nn.Module, tuple[int, int]]:
    layers: list[torch.nn.Module] = []
    for _ in range(draw(st.integers(1, 4))):
        k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        if draw(st.booleans()):
            s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
            d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
            p = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
            conv = torch.nn.Conv2d(1, 1, k, s, p, d, bias=False)
            torch.nn.init.uniform_(conv.weight, 0.5, 1.0)  # positive: no cancellation in the gradient
            layers.append(conv)
        else:
            layers.append(torch.nn.AvgPool2d(k, draw(st.integers(1, 3)), min(draw(st.integers(0, 2)), min(k) // 2),
                                             ceil_mode=draw(st.booleans())))
    shape = (draw(st.integers(4, 20)), draw(st.integers(4, 20)))
    return torch.nn.Sequential(*layers), shape


@settings(derandomize=True, max_examples=40, deadline=None)
@given(torch_stacks(), st.data())
def test_receptive_field_matches_torch_gradient(stack: tuple[torch.nn.Module, tuple[int, int]],
                                                data: st.DataObject) -> None:
    model, shape = stack
    try:
        out = model(torch.zeros(1, 1, *shape)).shape[-2:]
    except RuntimeError:
        assume(False)
    assume(min(out) > 0)
    unit = (data.draw(st.integers(0, out[0] - 1)), data.draw(st.integers(0, out[1] - 1)))
    try:
        field = theoretical_field(model, shape, unit)
    except PaddingError as exc:  # geometry refusing what torch accepts would be a bug
        raise AssertionError((model, shape, unit)) from exc
    assert field is not None
    x = torch.ones(1, 1, *shape, requires_grad=True)
    model(x)[0, 0, unit[0], unit[1]].backward()
    grad = x.grad[0, 0].numpy()
    (r0, r1), (c0, c1) = field
    msg = (model, shape, unit, field)
    # Without padding (and ceil_mode) no path crosses padding: the field is exactly what is read.
    exact = all(not any(getattr(m, "padding", 0) if isinstance(getattr(m, "padding", 0), tuple)
                        else (getattr(m, "padding", 0),)) and not getattr(m, "ceil_mode", False)
                for m in model)
    if not grad.any():
        assert not exact, msg
        return
    for read, (lo, hi) in ((np.nonzero(grad.any(axis=1))[0], (r0, r1)), (np.nonzero(grad.any(axis=0))[0], (c0, c1))):
        assert lo <= read.min() and read.max() <= hi, msg  # nothing outside the field is read
        if exact:
            assert (read.min(), read.max()) == (lo, hi), msg


def test_gradient_map_centre_unit() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(2, 1, 3))
    grad, pos = gradient_map(model, (9, 9), samples=2)
    assert pos == (3, 3) and grad.shape == (9, 9)
    assert grad[0].sum() == 0 and grad[4, 4] > 0  # field rows 1…7 around unit 3


@pytest.mark.parametrize("mode, torch_mode", [("constant", "constant"), ("reflect", "reflect"),
                                              ("replicate", "replicate"), ("circular", "circular")])
def test_pad_modes_match_torch(mode: str, torch_mode: str) -> None:
    rng = np.random.default_rng(1)
    for _ in range(10):
        img = rng.standard_normal((rng.integers(3, 7), rng.integers(3, 7)))
        pads = ((int(rng.integers(0, 3)), int(rng.integers(0, 3))), (int(rng.integers(0, 3)), int(rng.integers(0, 3))))
        want = torch.nn.functional.pad(torch.tensor(img)[None, None],
                                       (*pads[1], *pads[0]), mode=torch_mode)[0, 0].numpy()
        np.testing.assert_allclose(pad_image(img, pads, mode), want, err_msg=str((mode, pads)))


@pytest.mark.parametrize("argv", [
    ["size", "-k", "3", "-s", "2"],
    ["stride", "-i", "28"],
    ["rf", "--stack", "c3x3,p2,c3", "-i", "32", "--unit", "centre"],
    ["padded", "--pads", "1:2,0:3"],
    ["erf", "--stack", "c3x2,c3s2", "-i", "16,16"],
])
def test_cli_plots_written(tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    png, svg = tmp_path / "a.png", tmp_path / "a.svg"
    assert main(["plot", *argv, "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if argv[0] in ("size", "rf"):
        assert main(["plot", *argv, "-o", str(svg)]) == 0
        assert "<svg" in svg.read_text()[:2000]
    capsys.readouterr()


def test_cli_plot_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", "size", "-o", str(tmp_path / "a.jpg")]) == 2
    assert main(["plot", "rf", "--stack", "q3", "-o", str(tmp_path / "a.png")]) == 2
    assert main(["plot", "size", "--sizes", "9:2", "-o", str(tmp_path / "a.png")]) == 2
    assert main(["plot", "padded", "--modes", "mirror", "-o", str(tmp_path / "a.png")]) == 2
    assert not list(tmp_path.iterdir())
    assert "Traceback" not in capsys.readouterr().err
