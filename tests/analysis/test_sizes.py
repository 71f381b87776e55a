"""``padstride sizes``: the verdict per size from one read of the model, against real forwards.

The oracle runs the torch model at every candidate size (here only: ``sizes`` itself never runs
it): ``runs`` must be exactly the sizes where torch's forward succeeds; ``clean`` exactly those
where every input pixel of the border gets a gradient from the output (none dropped).
"""

from __future__ import annotations

import json

import pytest

from padstride.analysis import GraphBuilder
from padstride.analysis.sizes import SizeReport, input_sizes
from padstride.cli import main

torch = pytest.importorskip("torch")
nn = torch.nn


class Merge32(nn.Module):
    """A merge that only works at multiples of 32: five poolings, ×32 upsampling, add."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.down = nn.Sequential(*[nn.MaxPool2d(2) for _ in range(5)])
        self.up = nn.Upsample(scale_factor=32)

    def forward(self, x):  # type: ignore[no-untyped-def]
        x = self.conv(x)
        return x + self.up(self.down(x))


def _real(model: nn.Module, size: int, chans: int = 1) -> tuple[bool, bool]:
    """Whether torch runs ``model`` at ``size``, and whether every border pixel is read."""
    x = torch.zeros(1, chans, size, size, requires_grad=True)
    try:
        y = model(x)
    except RuntimeError:
        return False, False
    y.sum().backward()
    g = (x.grad if x.grad is not None else torch.zeros_like(x))[0].abs().sum(0)
    border = torch.cat([g[0], g[-1], g[:, 0], g[:, -1]])
    return True, bool((border != 0).all())


def _positive(model: nn.Module) -> nn.Module:
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand_like(p) + 0.1)  # every read pixel reaches the output with a nonzero gradient
    return model.eval()


def test_merge_runs_only_at_multiples_of_32() -> None:
    model = _positive(Merge32())
    r = input_sizes(model, range(40, 140), (1, 64, 64))
    assert r.runs == [64, 96, 128] and r.step == 32
    assert r.nearest(100) == (96, 128)
    assert "cannot add" in r.verdict(100).reason
    for size in range(40, 140, 3):
        assert _real(model, size)[0] == (size in r.runs), size


@pytest.mark.parametrize("stride", [2, 3])
def test_clean_sizes_match_gradients(stride: int) -> None:
    model = _positive(nn.Sequential(nn.Conv2d(1, 2, 3, stride=stride), nn.ReLU(), nn.Conv2d(2, 2, 3, stride=stride)))
    r = input_sizes(model, range(9, 40), (1, 20, 20))
    for size in range(9, 40):
        runs, clean = _real(model, size)
        assert (size in r.runs, size in r.clean) == (runs, clean), size
    assert r.clean and len(r.clean) < len(r.runs)


def test_unet_sizes_match_real_forwards() -> None:
    import torch_models as tm

    model = _positive(tm.unet_same())
    r = input_sizes(model, range(40, 80), (1, 64, 64))
    assert r.runs and r.step
    for size in range(40, 80, 3):
        assert _real(model, size)[0] == (size in r.runs), size
    assert "cannot concatenate" in r.verdict(min(set(range(40, 80)) - set(r.runs))).reason


def test_size_bound_layers_are_unknown_not_wrong() -> None:
    b = GraphBuilder("vit-like")
    x = b.conv(b.input((3, 32, 32)), 8, 16, stride=16)
    _ = b.reshape(x, (8, 4))  # recorded at 32×32: 2·2 patches
    r = input_sizes(b.build(), range(30, 66))
    assert r.runs == list(range(32, 48))  # 2×2 patches, as recorded: the reshape holds
    assert r.unknown == [30, 31, *range(48, 66)]  # other patch grids: the recorded reshape cannot say


def test_report_json_and_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sizes", "examples/specs/seed001_unet_same.yaml", "--range", "60:70", "--size", "66", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs"] == [60, 64, 68] and out["nearest_runs"] == [64, 68] and out["requested"] == 66
    assert main(["sizes", "examples/specs/seed001_unet_same.yaml", "--range", "60:70", "--size", "66"]) == 0
    text = capsys.readouterr().out
    assert "66: does not run" in text and "64 (-2) or 68 (+2)" in text
    assert main(["sizes", "examples/specs/seed001_unet_same.yaml", "--range", "70:60"]) == 2
    assert "--range needs" in capsys.readouterr().err
    assert main(["sizes", "examples/specs/seed001_unet_same.yaml", "--range", "1:99999"]) == 2


def test_nearest_and_step() -> None:
    from padstride.analysis.sizes import SizeVerdict

    r = SizeReport("m", (3,), 64, [SizeVerdict(s, s % 32 in (0, 31), s % 32 == 0) for s in range(190, 260)])
    assert r.nearest(225) == (224, 255) and r.nearest(225, clean=True) == (224, 256) and r.step is None
