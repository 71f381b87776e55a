"""timm's norm + activation layers read by :mod:`padstride.analysis.adapters.torch_composites` give the very
graph that tracing their ``forward`` gives (node names, ops, inputs, attributes, shapes, parameters)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn as nn
from timm.layers import BatchNormAct2d, ConvNormAct, GroupNorm1, GroupNorm1Act, GroupNormAct, LayerNorm, LayerNormAct

from padstride.analysis.adapters import torch_composites, torch_sym
from padstride.analysis.adapters.torch import analyzed_torch

pytestmark = pytest.mark.zoo


class _Tokens(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).transpose(1, 2)


class _Twice(BatchNormAct2d):  # overrides forward: traced, never read as a BatchNormAct2d
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * 2


def _net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2),
        ConvNormAct(8, 8, 3, act_layer=nn.ReLU),
        ConvNormAct(8, 8, 3, stride=2, aa_layer=nn.AvgPool2d),
        nn.Sequential(nn.Sequential(nn.Identity()), nn.ReLU()),
        BatchNormAct2d(8, act_layer=nn.SiLU, drop_layer=nn.Dropout),
        BatchNormAct2d(8, affine=False, apply_act=False),
        _Twice(8),
        GroupNormAct(8, num_groups=2, act_layer=nn.GELU),
        GroupNorm1Act(8),
        GroupNorm1(8),
        _Tokens(),
        LayerNorm(8),
        LayerNormAct(8, act_layer=nn.ReLU),
    )


def _read(model: nn.Module, shape: tuple[int, ...]) -> tuple[Any, ...]:
    g, infos = analyzed_torch(model, shape)
    return (g.reader, [(n.name, n.op, n.inputs, dict(n.attrs), n.type) for n in g.nodes],
            [(k, v.shape, v.params) for k, v in infos.items()])


def _traced(model: nn.Module, shape: tuple[int, ...], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    with monkeypatch.context() as m:
        m.setattr(torch_composites, "_COMPOSITES", {})
        torch_sym._dispatch.cache_clear()
        try:
            return _read(model, shape)
        finally:
            torch_sym._dispatch.cache_clear()


@pytest.mark.parametrize("training", [False, True])
def test_composites_read_as_traced(training: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _net().train(training)
    fast = _read(model, (3, 17, 19))
    assert fast[0] == "trace"
    assert any(t == "F.batch_norm" for *_, t in fast[1]) and any(t == "F.layer_norm" for *_, t in fast[1])
    assert fast == _traced(model, (3, 17, 19), monkeypatch)


def test_composite_only_for_the_forward_it_knows() -> None:
    assert torch_composites.composite(BatchNormAct2d) is not None
    assert torch_composites.composite(_Twice) is None  # a subclass's own forward
    assert torch_composites.composite(nn.BatchNorm2d) is None
