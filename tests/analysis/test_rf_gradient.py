"""Receptive fields against a gradient measurement: backprop from one output unit, find the non-zero input region.

All weights are 1 and pooling is averaging, so every input pixel inside the receptive field gets a
non-zero gradient; zero padding only removes pixels outside the input. Chains and branchy graphs
(adds and concatenations of earlier tensors) in 1, 2 and 3 dimensions, per axis.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from hypothesis import HealthCheck, given, settings

from padstride.analysis import analyze
from padstride.analysis.load import ModelError

from ._recipes import RecipeNet, recipes


def _measure(net: nn.Module, c_in: int, size: tuple[int, ...], unit: tuple[int, ...]) -> list[tuple[int, int] | None]:
    x = torch.ones(1, c_in, *size, dtype=torch.float64, requires_grad=True)
    out = net(x)
    out[(0, 0, *unit)].backward()
    grad = x.grad.abs().sum(dim=(0, 1))
    spans = []
    for axis in range(len(size)):
        other = tuple(a for a in range(len(size)) if a != axis)
        hit = (grad.sum(dim=other) if other else grad).nonzero().flatten().tolist()
        spans.append((min(hit), max(hit)) if hit else None)
    return spans


@settings(derandomize=True, max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(recipes(rf_safe=True))
def test_receptive_field_matches_gradient(case):
    recipe, c_in, size, nd = case
    net = RecipeNet(recipe, c_in, nd).double().eval()
    for m in net.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    where = f"recipe={recipe} c_in={c_in} size={size}"
    try:
        with torch.no_grad():
            out = net(torch.zeros(1, c_in, *size, dtype=torch.float64))
    except (RuntimeError, ValueError):
        return
    if 0 in out.shape:
        return
    try:
        s = analyze(net, (c_in, *size))
    except ModelError as exc:  # a crop emptied a tensor that a later pad refilled; torch allows it
        assert "leave" in str(exc), where
        return
    assert not s.errors, where
    if any(i.op in ("add", "cat", "concat") and len({s.layer(n).shape[1:] for n in i.inputs}) > 1
           for i in s.layers):
        return  # spatial broadcasting: every unit also sees a whole tensor

    unit = tuple(n // 2 for n in out.shape[2:])
    measured = _measure(net, c_in, size, unit)
    for axis, (rf, span, u, n) in enumerate(zip(s.output_rf, measured, unit, size, strict=True)):
        start, end = rf.span(u)
        assert start.denominator == 1 and end.denominator == 1, where
        clipped = (max(int(start), 0), min(int(end), n - 1))
        msg = f"axis {axis}: predicted {(start, end)} (clipped {clipped}), measured {span}: {where}"
        if span is None:  # the unit reads only padding (added after a crop or past the input)
            continue
        lo, hi = span
        if start >= 0 and end < n:
            assert (lo, hi) == (start, end), msg
        else:  # a dilated or strided border tap may fall on padding: measured lies inside the prediction
            assert clipped[0] <= lo and hi <= clipped[1], msg


def test_merge_reports_misalignment():
    """TF-style SAME at stride 2 (pads (0, 1)) against a 1×1 stride-2 shortcut: centres differ by 1 px."""
    from padstride.analysis import GraphBuilder

    b = GraphBuilder("shortcut", layout="channels_last")
    x = b.input((32, 32, 8))
    main = b.conv(x, 8, 3, stride=2, padding="same", name="main")
    skip = b.conv(x, 8, 1, stride=2, name="skip")
    b.add([main, skip], name="sum")
    s = analyze(b.build())
    assert s.layer("sum").misalignment == (1, 1)
    assert any("misaligned by 1 px on H and W" in w or "misaligned by 1 px on H" in w for w in s.warnings)
    assert math.isclose(float(s.layer("main").rf[0].centre), 1.0)
