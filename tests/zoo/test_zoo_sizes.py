"""``padstride sizes`` on the models of issue 12 that do not run at 225: timm's DLA-34 and HRNet-W18-small.

One read of each model at 225, then one propagation per candidate size; the verdicts are checked
against real forwards at sizes around 225 (the oracle runs the model; ``sizes`` never does).
"""

from __future__ import annotations

import pytest

from padstride.analysis.sizes import input_sizes

pytestmark = pytest.mark.zoo

CHECK = [192, 200, 223, 224, 225, 231, 240, 253, 255, 256]


@pytest.mark.parametrize(("name", "nearest"), [("dla34", (224, 255)), ("hrnet_w18_small", (224, 253))])
def test_sizes_of_models_that_fail_at_225(name: str, nearest: tuple[int, int]) -> None:
    import timm
    import torch

    model = timm.create_model(name, pretrained=False).eval()
    r = input_sizes(model, range(160, 321), (3, 225, 225))
    assert r.nearest(225) == nearest
    assert "cannot add 57×57" in r.verdict(225).reason
    assert not r.unknown
    for size in CHECK:
        try:
            with torch.no_grad():
                model(torch.zeros(1, 3, size, size))
            runs = True
        except RuntimeError:
            runs = False
        assert runs == (size in r.runs), size
