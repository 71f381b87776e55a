"""padstride.analysis on padstride.torch's own layers and on convert()ed models, against real forward passes.

Shapes and parameter counts are compared with the layer's output; the per-side pads that the
analysis reports are checked by rebuilding the output from them with plain PyTorch ops
(``F.pad`` and an unpadded conv/pool, or a full transposed conv cropped by the pads): a pad on the
wrong side shifts the result.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import padstride.torch as pt
from padstride.analysis import analyze
from padstride.analysis.load import ModelError
from padstride.geometry import PaddingError
from tests._helpers import oracle_settings, torch_pad

ROOT = Path(__file__).resolve().parents[2]


def _narrow(y: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    for axis, n in enumerate(shape[1:]):
        y = y.narrow(2 + axis, 0, min(n, y.shape[2 + axis]))
    return y


Pairs = tuple[tuple[int, int], ...]


def rebuild(layer: nn.Module, x: torch.Tensor, pads: Pairs, shape: tuple[int, ...]) -> torch.Tensor:
    """The layer's output computed with plain PyTorch from the analysis' per-side pads."""
    if isinstance(layer, nn.modules.conv._ConvTransposeNd):
        y = F.conv_transpose2d(x, layer.weight, None, layer.stride, 0, 0, layer.groups, layer.dilation)
        y = F.pad(y, [-p for p in torch_pad(pads)])
        return y + layer.bias.view(-1, 1, 1)
    if isinstance(layer, nn.modules.conv._ConvNd):
        w, b = layer.weight, layer.bias
        return F.conv2d(F.pad(x, torch_pad(pads)), w, b, layer.stride, 0, layer.dilation, layer.groups)
    k, s, ceil = layer.kernel_size, layer.stride, layer.ceil_mode
    if isinstance(layer, nn.MaxPool2d):
        y = F.max_pool2d(F.pad(x, torch_pad(pads), value=float("-inf")), k, s, 0, layer.dilation, ceil)
        return _narrow(y, shape)

    def sums(t: torch.Tensor, fill: float) -> torch.Tensor:  # window sums over the padded tensor
        return _narrow(F.avg_pool2d(F.pad(t, torch_pad(pads), value=fill), k, s, 0, ceil, True, 1), shape)

    ones = torch.ones_like(x[:1, :1])
    count = sums(ones, 1.0 if layer.count_include_pad else 0.0)  # PyTorch counts pads; TF real cells only
    return sums(x, 0.0) / count


def check(layer: nn.Module, size: tuple[int, int], c: int = 2, where: str = "") -> None:
    """analyze(layer) = the real layer: shape, params, and the output rebuilt from the reported pads."""
    torch.manual_seed(0)
    net = nn.Sequential(layer).eval()
    x = torch.randn(1, c, *size)
    where = f"{layer!r} on {size}: {where}"
    try:
        with torch.no_grad():
            real = net(x)
        if 0 in real.shape:
            raise RuntimeError("empty output")
    except (RuntimeError, ValueError) as exc:
        try:
            s = analyze(net, (c, *size))
        except (ModelError, PaddingError):
            return
        assert s.errors, f"torch fails ({str(exc).splitlines()[0]}) but padstride finds no error: {where}"
        return
    s = analyze(net, (c, *size))
    info = s.layer("0")
    assert not s.errors, f"{s.errors}: {where}"
    assert info.shape == tuple(real.shape[1:]), f"padstride {info.shape} torch {tuple(real.shape[1:])}: {where}"
    assert s.total_params == sum(p.numel() for p in net.parameters()), where
    with torch.no_grad():
        ref = rebuild(layer, x, info.pads, info.shape)
    assert ref.shape == real.shape, f"pads {info.pads} rebuild {tuple(ref.shape)}: {where}"
    assert torch.allclose(ref, real, atol=1e-5, equal_nan=True), f"pads {info.pads} do not rebuild the output: {where}"


SIZES = st.tuples(st.integers(3, 12), st.integers(3, 12))
NAMED = st.sampled_from(["same", "same_lower", "valid", "full"])
PAIR = st.tuples(st.integers(-1, 3), st.integers(-1, 3))
SETTINGS = oracle_settings(40)


# -- the cases named in the issue -----------------------------------------------------------------
@pytest.mark.parametrize("size", [(9, 9), (8, 8), (224, 225)])
def test_conv2d_same_stride2_odd_and_even(size):
    conv = pt.Conv2d(2, 3, 3, stride=2, padding="same")
    check(conv, size)
    s = analyze(nn.Sequential(conv), (2, *size))
    want = tuple((0, 1) if n % 2 == 0 else (1, 1) for n in size)  # TF: the odd pixel after
    assert s.layer("0").pads == want, (size, s.layer("0").pads)


@pytest.mark.parametrize("size", [(6, 6), (7, 5)])
def test_avgpool2d_same_counts_real_cells(size):
    check(pt.AvgPool2d(3, 2, padding="same"), size)


@pytest.mark.parametrize(("k", "s", "p", "size"), [(3, 2, 1, (8, 8)), (2, 2, 0, (7, 7)), (3, 2, "same", (7, 8))])
def test_maxpool2d_ceil_mode(k, s, p, size):
    check(pt.MaxPool2d(k, s, padding=p, ceil_mode=True), size)


@pytest.mark.parametrize("rule", ["keras", "keras_torch"])
@pytest.mark.parametrize(("k", "s"), [(3, 2), (4, 3), (2, 2), (5, 2)])
def test_conv_transpose2d_same(k, s, rule):
    up = pt.ConvTranspose2d(2, 3, k, stride=s, padding="same", rule=rule)
    check(up, (5, 6))
    s_ = analyze(nn.Sequential(up), (2, 5, 6))
    assert s_.layer("0").shape == (3, 5 * s, 6 * s)  # Keras: n·s


# -- random configurations --------------------------------------------------------------------------
@settings(SETTINGS, max_examples=60)  # about half are refused by torch too (kernel larger than the input)
@given(SIZES, st.integers(1, 5), st.integers(1, 3), st.integers(1, 2), st.one_of(NAMED, st.tuples(PAIR, PAIR)))
def test_random_conv2d(size, k, s, d, padding):
    check(pt.Conv2d(2, 3, k, stride=s, padding=padding, dilation=d), size, where=f"k={k} s={s} d={d} padding={padding}")


@SETTINGS
@given(SIZES, st.integers(1, 4), st.integers(1, 3), st.one_of(st.sampled_from(["same", "valid"]), st.integers(0, 2)),
       st.booleans(), st.sampled_from([None, True, False]))
def test_random_avgpool2d(size, k, s, padding, ceil, include):
    check(pt.AvgPool2d(k, s, padding=padding, ceil_mode=ceil, count_include_pad=include), size,
          where=f"k={k} s={s} padding={padding} ceil={ceil} include={include}")


@SETTINGS
@given(SIZES, st.integers(1, 4), st.integers(1, 3), st.integers(1, 2),
       st.one_of(st.sampled_from(["same", "same_lower", "valid"]), st.integers(0, 2)), st.booleans())
def test_random_maxpool2d(size, k, s, d, padding, ceil):
    check(pt.MaxPool2d(k, s, padding=padding, dilation=d, ceil_mode=ceil), size,
          where=f"k={k} s={s} d={d} padding={padding} ceil={ceil}")


@SETTINGS
@given(SIZES, st.integers(1, 4), st.integers(1, 3), st.integers(1, 2),
       st.one_of(st.sampled_from(["same", "valid"]), st.tuples(PAIR, PAIR)), st.sampled_from(["keras", "keras_torch"]))
def test_random_conv_transpose2d(size, k, s, d, padding, rule):
    try:
        layer = pt.ConvTranspose2d(2, 3, k, stride=s, padding=padding, dilation=d, rule=rule)
    except (PaddingError, ValueError):
        return  # e.g. a crop larger than the full output: refused at construction
    check(layer, size, where=f"k={k} s={s} d={d} padding={padding} rule={rule}")


# -- whole models -----------------------------------------------------------------------------------
def _converted() -> nn.Module:
    import resnet

    return pt.convert(resnet.ResNet((1, 1, 1, 1), classes=10), "same")


def _forward_shapes(net: nn.Module, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}

    def record(name: str):
        def hook(module: nn.Module, args: object, out: torch.Tensor) -> None:
            shapes.setdefault(name, tuple(out.shape[1:]))

        return hook

    hooks = [m.register_forward_hook(record(name)) for name, m in net.named_modules()
             if name and not list(m.children())]
    try:
        with torch.no_grad():
            net.eval()(x)
    finally:
        for h in hooks:
            h.remove()
    return shapes


@pytest.mark.parametrize("size", [(33, 33), (32, 35)])
def test_converted_resnet_matches_torch(size):
    net = _converted()
    assert isinstance(net.conv1, pt.Conv2d) and isinstance(net.maxpool, pt.MaxPool2d)
    real = _forward_shapes(net, torch.zeros(1, 3, *size))
    s = analyze(net, (3, *size))
    assert not s.errors, s.errors
    for name, shape in real.items():
        assert s.layer(name).shape == shape, (name, s.layer(name).shape, shape, size)
    assert s.total_params == sum(p.numel() for p in net.parameters())
    conv1 = s.layer("conv1")  # TF same, 7×7 stride 2: (2, 3) on 32, (3, 3) on 33 and 35
    assert conv1.pads == tuple((3, 3) if n % 2 else (2, 3) for n in size), conv1.pads
    for name, m in net.named_modules():  # every converted window: the reported pads rebuild its output
        if isinstance(m, (pt.Conv2d, pt.MaxPool2d)):
            info = s.layer(name)
            x = torch.randn(1, s.layer(info.inputs[0]).shape[0], *s.layer(info.inputs[0]).shape[1:])
            with torch.no_grad():
                assert torch.allclose(rebuild(m, x, info.pads, info.shape), m(x), atol=1e-5), name


def test_summary_cli_reads_padstride_layers(tmp_path, capsys):
    from padstride.cli import main

    model = tmp_path / "ps_model.py"
    model.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'examples')!r})\n"
        "import torch.nn as nn\n"
        "import padstride.torch as pt\n"
        "import resnet\n"
        "def net():\n"
        "    return nn.Sequential(pt.Conv2d(3, 8, 3, stride=2, padding='same'), nn.ReLU(),\n"
        "                         pt.MaxPool2d(2, ceil_mode=True), pt.AvgPool2d(3, 2, padding='same'),\n"
        "                         pt.ConvTranspose2d(8, 4, 4, stride=2, padding='same'))\n"
        "def converted():\n"
        "    return pt.convert(resnet.ResNet((1, 1, 1, 1), classes=10), 'same')\n"
    )
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for attr, size in (("net", (3, 27, 30)), ("converted", (3, 33, 32))):
            code = main(["summary", f"ps_model.py:{attr}", "--input", ",".join(map(str, size)), "--json"])
            out = json.loads(capsys.readouterr().out)
            assert code == 0, out["errors"]
            import importlib.util

            spec = importlib.util.spec_from_file_location("ps_model", model)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            net = getattr(mod, attr)()
            real = _forward_shapes(net, torch.zeros(1, *size))
            rows = {row["name"]: row for row in out["layers"]}
            for name, shape in real.items():
                assert tuple(rows[name]["output_shape"]) == shape, (attr, name)
            assert out["total_params"] == sum(p.numel() for p in net.parameters())
    finally:
        os.chdir(cwd)
    assert rows["conv1"]["pads"] == [[3, 3], [2, 3]]  # 33 and 32
