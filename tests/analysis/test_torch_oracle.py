"""Shapes and parameter counts against real PyTorch forward passes (random networks and the examples)."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from hypothesis import HealthCheck, given, settings

from padstride.analysis import analyze
from padstride.analysis.load import ModelError

from ._recipes import RecipeNet, recipes


def _forward_shapes(net: nn.Module, x: torch.Tensor) -> tuple[dict[str, tuple[int, ...]], tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}

    def hook(name: str):
        def record(module: nn.Module, args: object, out: torch.Tensor) -> None:
            shapes.setdefault(name, tuple(out.shape[1:]))

        return record

    hooks = [m.register_forward_hook(hook(name)) for name, m in net.named_modules() if name and not list(m.children())]
    try:
        with torch.no_grad():
            out = net(x)
    finally:
        for h in hooks:
            h.remove()
    return shapes, tuple(out.shape[1:])


@settings(derandomize=True, max_examples=70, deadline=None, suppress_health_check=list(HealthCheck))
@given(recipes())
def test_random_networks_match_torch(case):
    recipe, c_in, size, nd = case
    net = RecipeNet(recipe, c_in, nd).eval()
    where = f"recipe={recipe} c_in={c_in} size={size}"
    try:
        real, out = _forward_shapes(net, torch.zeros(1, c_in, *size))
        if 0 in out or any(0 in shape for shape in real.values()):
            raise RuntimeError("an empty tensor (a crop or pool leaves no pixel)")
    except (RuntimeError, ValueError) as exc:
        try:
            s = analyze(net, (c_in, *size))
        except ModelError:
            return
        assert s.errors, f"torch fails ({str(exc).splitlines()[0]}) but padstride finds no error: {where}"
        return
    s = analyze(net, (c_in, *size))
    assert not s.errors, f"{s.errors} but torch runs: {where}"
    for name, shape in real.items():
        assert s.layer(name).shape == shape, f"{name}: padstride {s.layer(name).shape} torch {shape}: {where}"
    assert s.layer(s.graph.outputs[0]).shape == out, where
    assert s.total_params == sum(p.numel() for p in net.parameters()), where


def test_examples_match_torch():
    import resnet
    import torch_models as tm

    cases = [(tm.seed003_valid(), (1, 28, 28), 2_002_698), (tm.seed003_same(), (1, 28, 28), 3_231_498),
             (tm.seed003_strided(), (1, 28, 28), 85_770), (tm.seed004_strided(), (1, 28, 28), 220_938)]
    cases += [(tm.mnist_cnn_valid(n), (1, n, n), p) for n, p in ((28, 93_322), (32, 121_994), (64, 646_282))]
    cases += [(tm.mnist_cnn_same(n), (1, n, n), p) for n, p in ((28, 257_162), (32, 318_602), (64, 1_105_034))]
    cases += [(tm.unet_same(), (1, 64, 64), 1_881_985), (tm.cnn3d_same(), (1, 64, 64, 64), 16_944_257),
              (tm.UNet3D(base=2), (1, 16, 16, 16), None), (resnet.resnet50(), (3, 64, 64), 25_557_032)]
    for net, shape, params in cases:
        net.eval()
        s = analyze(net, shape)
        assert not s.errors, (type(net).__name__, s.errors)
        assert s.total_params == sum(p.numel() for p in net.parameters()), type(net).__name__
        if params is not None:
            assert s.total_params == params, type(net).__name__
        if shape[-1] <= 64 and len(shape) < 4:
            _, out = _forward_shapes(net, torch.zeros(1, *shape))
            assert s.layer(s.graph.outputs[0]).shape == out, type(net).__name__


def test_resnet50_receptive_field_and_torchinfo_macs():
    import resnet
    import torchinfo

    net = resnet.resnet50().eval()
    s = analyze(net, (3, 224, 224))
    rf = s.output_rf
    assert [(r.size, r.stride, r.padding) for r in rf] == [(427, 32, 213)] * 2
    assert s.total_params == 25_557_032
    info = torchinfo.summary(net, (1, 3, 64, 64), verbose=0)  # MACs scale with positions; 64 keeps it quick
    assert analyze(net, (3, 64, 64)).total_macs == info.total_mult_adds


def test_seed001_slide5_shape_error_names_the_linear_layer():
    import torch_models as tm

    net = tm.custom_cnn()
    with pytest.raises(RuntimeError):
        net(torch.zeros(1, 1, 28, 28))
    s = analyze(net, (1, 28, 28))
    assert any(e.startswith("fc1 (Linear)") and "2304 = 64·6·6" in e and "3136 = 64·7·7" in e for e in s.errors), \
        s.errors
    # The view silently mixes samples when the batch is a multiple of 36: padstride flags the view too.
    assert any(e.startswith("view (view)") for e in s.errors)
    # With a 24×24 input the seed's numbers fit: 24 → 24 → 12 → 12 → 6.
    assert not analyze(net, (1, 24, 24)).errors


def test_unknown_functions_run_on_meta_tensors():
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.roll(self.conv(x), 1, dims=2).permute(0, 1, 3, 2)

    s = analyze(Odd(), (3, 10, 12))
    assert s.layer(s.graph.outputs[0]).shape == (4, 10, 8)
    assert s.layer("roll").op == "opaque"


def test_untraceable_model_is_reported():
    class Branchy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2 if x.sum() > 0 else x

    with pytest.raises(ModelError, match=r"branches on tensor values"):
        analyze(Branchy(), (1, 4, 4))


def test_padstride_padding_spec_is_used():
    from padstride.geometry import Padding

    conv = nn.Conv2d(1, 2, 3, stride=2)
    conv.padding_spec = Padding.parse("same", 2)  # a user layer's own spec (padstride.torch layers have .spec)
    s = analyze(nn.Sequential(conv), (1, 8, 9))
    assert s.layer("0").pads == ((0, 1), (1, 1))
