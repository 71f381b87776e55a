"""``plot rf --model`` and ``plot erf --model``: the analysis' fields against torch input gradients of real models.

The models (``tests/viz/_models.py``) are linear with positive weights, so the gradient of a unit is
non-zero on exactly the input pixels it is connected to: its extent must be the theoretical field
clipped to the input. After a nearest upsampling the analysis centres the field between the two
source pixels, so there the bounds may differ by half a pixel.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from padstride.analysis import analyze
from padstride.cli import main
from padstride.viz.erf import effective_field, theoretical_field
from padstride.viz.receptive import main_path

from ._models import branchy, small_resnet

HERE = Path(__file__).resolve().parent
MODELS = f"{HERE / '_models.py'}"


def _calls(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, list[torch.Tensor]]]:
    """The model output and every module's outputs, per call, in one forward pass."""
    seen: dict[str, list[torch.Tensor]] = {}
    hooks = []
    for name, m in model.named_modules():
        def keep(module, args, out, name=name):
            seen.setdefault(name, []).append(out)
        hooks.append(m.register_forward_hook(keep))
    try:
        out = model(x)
    finally:
        for h in hooks:
            h.remove()
    return out, seen


def _tensor(name: str, out: torch.Tensor, seen: dict[str, list[torch.Tensor]], output: str) -> torch.Tensor | None:
    if name == output:
        return out
    if name in seen:
        return seen[name][0]
    base, _, call = name.rpartition("_")
    return seen[base][int(call)] if base in seen and call.isdigit() else None  # a function's output: not hooked


def _extent(grad: torch.Tensor, axis: int) -> tuple[int, int]:
    nonzero = grad.abs().sum(dim=(0, 1)).any(dim=1 - axis).nonzero()
    return int(nonzero.min()), int(nonzero.max())


def _clip(lo: float, hi: float, n: int) -> tuple[float, float]:
    return max(lo, 0), min(hi, n - 1)


def _check(extent: tuple[int, int], field: tuple[float, float], n: int, where: object) -> None:
    lo, hi = _clip(*field, n)
    assert abs(extent[0] - lo) <= 0.5 and abs(extent[1] - hi) <= 0.5, (extent, field, where)
    if float(lo).is_integer() and float(hi).is_integer():  # no upsampling on the way: exact
        assert extent == (lo, hi), (extent, field, where)


@pytest.mark.parametrize(("factory", "shape", "unit"), [
    ("small_resnet", (3, 36, 36), "centre"), ("branchy", (2, 16, 14), "0"), ("branchy", (2, 16, 14), "centre"),
])
def test_plot_rf_model_matches_gradients(tmp_path, capsys, factory, shape, unit):
    code = main(["plot", "rf", "--model", f"{MODELS}:{factory}", "--input", ",".join(map(str, shape)),
                 "--unit", unit, "--json", "-o", str(tmp_path / "rf.png")])
    data = json.loads(capsys.readouterr().out)["data"]
    assert code == 0 and (tmp_path / "rf.png").stat().st_size > 0 and data["errors"] == []
    model = {"small_resnet": small_resnet, "branchy": branchy}[factory]()
    x = torch.ones(1, *shape, requires_grad=True)
    out, seen = _calls(model, x)
    s = analyze(model, shape)
    grads: dict[tuple[str, tuple[int, ...]], torch.Tensor] = {}
    for axis, name in enumerate(("H", "W")):
        fields = data["axes"][name]
        assert [f["name"] for f in fields] == [i.name for i in main_path(s) if i.name in {f["name"] for f in fields}]
        assert [f["depth"] for f in fields] == list(range(1, len(fields) + 1))
        for f in fields:
            y = _tensor(f["name"], out, seen, s.graph.outputs[0])
            if y is None:
                continue
            u = [f["unit"]] * 2 if unit == "0" else [n // 2 for n in y.shape[2:]]
            assert f["unit"] == u[axis]
            key = (f["name"], tuple(u))
            if key not in grads:
                grads[key], = torch.autograd.grad(y[0, :, u[0], u[1]].sum(), x, retain_graph=True)
            _check(_extent(grads[key], axis), (f["start"], f["end"]), shape[1 + axis], (factory, f))
    assert len(grads) >= (10 if factory == "small_resnet" else 4)


@pytest.mark.parametrize(("factory", "shape", "layer", "unit"), [
    (small_resnet, (3, 40, 40), None, None),               # the last feature map: layer4's output
    (small_resnet, (3, 40, 40), "layer2.0.conv2", (0, 4)),
    (small_resnet, (3, 40, 40), "layer1.0.relu_1", (9, 2)),  # the second call of a module
    (branchy, (2, 16, 14), None, (0, 13)),                  # after the upsampling
    (branchy, (2, 16, 14), "mix", (3, 3)),
])
def test_effective_field_matches_gradient(factory, shape, layer, unit):
    model = factory()
    e = effective_field(model, shape, unit, samples=1, layer=layer)
    assert e.layer == (layer or ("layer4.0.relu_2" if factory is small_resnet else "head"))
    assert e.field == theoretical_field(model, shape, e.unit, layer)
    assert e.extent is not None
    for axis in (0, 1):
        _check(e.extent[axis], e.field[axis], shape[1 + axis], (factory.__name__, layer, e.unit))


def test_plot_erf_model_cli(tmp_path, capsys):
    png = tmp_path / "erf.png"
    code = main(["plot", "erf", "--model", f"{MODELS}:branchy", "--input", "2,16,14", "--unit", "5,6",
                 "--json", "-o", str(png)])
    data = json.loads(capsys.readouterr().out)["data"]
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG"
    assert data["layer"] == "head" and data["unit"] == [5, 6]
    for (lo, hi), (elo, ehi) in zip(data["theoretical"], data["gradient_extent"], strict=True):
        assert math.floor(lo) <= elo and ehi <= math.ceil(hi), data


@pytest.mark.parametrize(("argv", "message"), [
    (["erf", "--model", f"{MODELS}:branchy", "--input", "2,16,14", "--layer", "nope"], "no layer 'nope'"),
    (["erf", "--model", f"{MODELS}:branchy", "--input", "2,16,14", "--unit", "99,0"], "outside head's"),
    (["erf", "--model", f"{MODELS}:branchy", "--input", "2,16,14", "--layer", "cat"], "not a module's output"),
    (["erf", "--model", f"{MODELS}:branchy"], "needs --input"),
    (["erf", "--model", "examples/specs/seed003_valid.yaml", "--input", "1,28,28"], "erf needs a torch model"),
    (["rf", "--model", "nowhere.yaml"], "no such file"),
])
def test_model_plot_errors(tmp_path, capsys, argv, message):
    out = tmp_path / "a.png"
    assert main(["plot", *argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert not out.exists()
