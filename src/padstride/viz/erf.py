"""Effective receptive field of a PyTorch model: the input gradient of one unit, as a heatmap, with
the theoretical field that :mod:`padstride.analysis` computes drawn on it.

Any 2-D model the analysis reads works (branches, merges, resizes, padstride's own layers). The unit
followed is in the model's output when that is a feature map, else in the last feature map of the
main path (before the global pool of a classifier), or in ``layer`` (an analysis layer name that
is a module's output: ``"layer2.0.relu"``, ``"layer2.0.relu_1"`` for its second call).

>>> import torch
>>> nn = torch.nn
>>> model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 1, 3, stride=2))
>>> theoretical_field(model, (16, 16), (0, 0))
((-1, 3), (-1, 3))
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analysis import LayerInfo, Summary, analyze
from ..analysis.summary import num
from ..geometry import PaddingError
from .receptive import last_feature_map

__all__ = [
    "EffectiveField", "draw_effective_field", "effective_field", "followed_layer", "gradient_map",
    "plot_effective_rf", "theoretical_field",
]

Span = tuple[int | float, int | float]


def _channels(model: Any) -> int:
    first = next((m for m in model.modules() if hasattr(m, "in_channels")), None)
    return int(first.in_channels) if first is not None else 1


def _shape(model: Any, input_shape: Sequence[int]) -> tuple[int, ...]:
    """``(C, H, W)``; ``(H, W)`` takes C from the first layer that has ``in_channels``."""
    shape = tuple(int(n) for n in input_shape)
    if len(shape) == 2:
        shape = (_channels(model), *shape)
    if len(shape) != 3:
        raise PaddingError(f"the effective receptive field is drawn for 2-D inputs: (C, H, W), got {shape}")
    return shape


def followed_layer(summary: Summary, layer: str | None = None) -> LayerInfo:
    """The layer whose unit is followed: ``layer``, the output if it is a feature map, else the last one."""
    if layer is not None:
        try:
            info = summary.layer(layer)
        except KeyError:
            raise PaddingError(f"no layer {layer!r} in {summary.graph.name}") from None
        if not (info.rf and not info.rf_global and len(info.spatial) == 2):
            raise PaddingError(f"layer {layer!r} is not a 2-D feature map with a field per unit")
        return info
    out = summary.layer(summary.graph.outputs[0])
    return out if out.rf and not out.rf_global and out.spatial else last_feature_map(summary)


def _analyze(model: Any, shape: tuple[int, ...]) -> Summary:
    summary = analyze(model, shape)
    if summary.errors:
        raise PaddingError(summary.errors[0])
    return summary


def theoretical_field(
    model: Any, input_shape: Sequence[int], unit: Sequence[int], layer: str | None = None
) -> tuple[Span, Span]:
    """``((row_start, row_end), (col_start, col_end))``: input indices seen by ``unit`` of the followed layer."""
    summary = _analyze(model, _shape(model, input_shape))
    return _field(followed_layer(summary, layer), unit)


def _field(info: LayerInfo, unit: Sequence[int]) -> tuple[Span, Span]:
    assert info.rf is not None
    spans = [rf.span(int(u)) for rf, u in zip(info.rf, unit, strict=True)]
    (r0, r1), (c0, c1) = ((num(a), num(b)) for a, b in spans)
    return (r0, r1), (c0, c1)


def _module_call(model: Any, name: str) -> tuple[Any, int]:
    """The module and call index behind an analysis layer name (``relu_2``: third call of ``relu``)."""
    modules = dict(model.named_modules())
    if name in modules:
        return modules[name], 0
    m = re.fullmatch(r"(.+)_(\d+)", name)
    if m and m.group(1) in modules:
        return modules[m.group(1)], int(m.group(2))
    raise PaddingError(f"layer {name!r} is not a module's output; pass a module's layer name")


def _followed_output(model: Any, x: Any, info: LayerInfo, output: str) -> Any:
    """The tensor of layer ``info`` in a forward pass on ``x``."""
    if info.name == output:
        return model(x)
    module, call = _module_call(model, info.name)
    seen: list[Any] = []

    def keep(module: Any, args: Any, out: Any) -> None:
        seen.append(out)

    hook = module.register_forward_hook(keep)
    try:
        model(x)
    finally:
        hook.remove()
    if len(seen) <= call or tuple(seen[call].shape[1:]) != info.shape:
        raise PaddingError(f"layer {info.name!r}: no module call gives its shape {info.shape}")
    return seen[call]


@dataclass(frozen=True)
class EffectiveField:
    """Mean |∂ unit / ∂ input| of one unit of ``layer`` (``grad``, H×W) and its theoretical ``field``."""

    grad: np.ndarray
    unit: tuple[int, int]
    layer: str
    field: tuple[Span, Span]

    @property
    def extent(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """First and last row and column where the gradient is not zero (None if it is zero everywhere)."""
        rows, cols = np.nonzero(self.grad.any(axis=1))[0], np.nonzero(self.grad.any(axis=0))[0]
        if not rows.size:
            return None
        return (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))


def effective_field(
    model: Any, input_shape: Sequence[int], unit: Sequence[int] | None = None, samples: int = 8, seed: int = 0,
    layer: str | None = None,
) -> EffectiveField:
    """The gradient of one unit (default: the centre of the followed layer) over ``samples`` random inputs.

    ``input_shape`` is ``(H, W)`` or ``(C, H, W)``.

    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.Conv2d(2, 1, 3, stride=2))
    >>> e = effective_field(model, (9, 9), samples=1)
    >>> e.layer, e.unit, e.field, e.extent
    ('1', (2, 2), ((3, 7), (3, 7)), ((3, 7), (3, 7)))
    """
    import torch

    shape = _shape(model, input_shape)
    summary = _analyze(model, shape)
    info = followed_layer(summary, layer)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((samples, *shape), generator=gen, requires_grad=True)
    was_training = model.training
    model.eval()
    try:
        y = _followed_output(model, x, info, summary.graph.outputs[0])
        h, w = y.shape[-2:]
        pos = (h // 2, w // 2) if unit is None else (int(unit[0]), int(unit[1]))
        if not (0 <= pos[0] < h and 0 <= pos[1] < w):
            raise PaddingError(f"unit {pos} is outside {info.name}'s {h}×{w} feature map")
        y[..., pos[0], pos[1]].sum().backward()
    finally:
        model.train(was_training)
    assert x.grad is not None
    return EffectiveField(x.grad.abs().sum(dim=(0, 1)).numpy(), pos, info.name, _field(info, pos))


def gradient_map(
    model: Any, input_shape: Sequence[int], unit: Sequence[int] | None = None, channels: int | None = None,
    samples: int = 8, seed: int = 0, layer: str | None = None,
) -> tuple[np.ndarray, tuple[int, int]]:
    """:func:`effective_field`'s gradient and unit; ``channels`` overrides C.

    >>> import torch
    >>> grad, unit = gradient_map(torch.nn.Conv2d(1, 1, 3), (5, 5), samples=1)
    >>> grad.shape, unit
    ((5, 5), (1, 1))
    """
    shape = _shape(model, input_shape)
    if channels is not None:
        shape = (channels, *shape[1:])
    e = effective_field(model, shape, unit, samples, seed, layer)
    return e.grad, e.unit


def plot_effective_rf(
    model: Any, input_shape: Sequence[int], unit: Sequence[int] | None = None, samples: int = 8,
    layer: str | None = None,
) -> Any:
    """Heatmap of the gradient of one unit, the theoretical field as a dashed rectangle.

    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.Conv2d(2, 1, 3, stride=2))
    >>> plot_effective_rf(model, (9, 9), samples=1).axes[0].get_title().splitlines()[1]
    'theoretical: rows 3…7, cols 3…7'
    """
    return draw_effective_field(effective_field(model, input_shape, unit, samples, layer=layer))


def draw_effective_field(e: EffectiveField) -> Any:
    """The figure of :func:`plot_effective_rf` for a computed :class:`EffectiveField`."""
    from matplotlib.patches import Rectangle

    from .plots import _figure

    fig = _figure(1, width=5.5, height=5.0)
    ax = fig.axes[0]
    im = ax.imshow(e.grad / (e.grad.max() or 1.0), cmap="magma")
    fig.colorbar(im, ax=ax, shrink=.8, label="|gradient| (normalized)")
    (r0, r1), (c0, c1) = e.field
    height, width = e.grad.shape
    ax.add_patch(Rectangle((c0 - .5, r0 - .5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                           edgecolor="cyan", linestyle="--", linewidth=1.5, label="theoretical field"))
    ax.set_xlim(min(c0, 0) - 1, max(c1, width - 1) + 1)
    ax.set_ylim(max(r1, height - 1) + 1, min(r0, 0) - 1)
    ax.add_patch(Rectangle((-.5, -.5), width, height, fill=False, edgecolor="white", linewidth=1, label="input"))
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"effective receptive field of {e.layer} {e.unit}\ntheoretical: rows {r0}…{r1}, cols {c0}…{c1}",
                 fontsize=10)
    return fig
