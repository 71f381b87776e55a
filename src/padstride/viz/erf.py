"""Effective receptive field of a PyTorch model: the input gradient of one output unit, as a heatmap,
with the theoretical field (from :mod:`padstride.geometry`) drawn on it.

>>> import torch
>>> nn = torch.nn
>>> model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 1, 3, stride=2))
>>> theoretical_field(model, (16, 16), (0, 0))
((-1, 3), (-1, 3))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..geometry import Layer
from .receptive import layer_windows

__all__ = ["gradient_map", "plot_effective_rf", "theoretical_field", "torch_layers"]

_PASS = ("ReLU", "ReLU6", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "ELU", "Identity", "Dropout",
         "Dropout2d", "BatchNorm2d", "GroupNorm", "InstanceNorm2d")


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def torch_layers(model: Any) -> tuple[list[Layer], list[Layer]] | None:
    """Per-axis layer stacks of a chain of Conv2d / MaxPool2d / AvgPool2d (None if anything else).

    A model with branches or other spatial ops needs ``padstride.analysis`` instead.
    """
    rows: list[Layer] = []
    cols: list[Layer] = []
    leaves = [m for m in model.modules() if not list(m.children())]
    for m in leaves:
        name = type(m).__name__
        if name in _PASS:
            continue
        if name == "Conv2d":
            k, s, d = _pair(m.kernel_size), _pair(m.stride), _pair(m.dilation)
            if isinstance(m.padding, str):
                pads: list[object] = ["torch_same" if m.padding == "same" else "valid"] * 2
            else:
                pads = [(p, p) for p in _pair(m.padding)]
            for axis, stack in enumerate((rows, cols)):
                stack.append(Layer.conv(k[axis], s[axis], pads[axis], d[axis]))
        elif name in ("MaxPool2d", "AvgPool2d"):
            k = _pair(m.kernel_size)
            s = _pair(m.stride if m.stride is not None else m.kernel_size)
            p = _pair(m.padding)
            d = _pair(getattr(m, "dilation", 1))
            for axis, stack in enumerate((rows, cols)):
                stack.append(Layer("pool", k[axis], s[axis], (p[axis], p[axis]), d[axis], bool(m.ceil_mode)))
        else:
            return None
    return rows, cols


def theoretical_field(
    model: Any, input_shape: Sequence[int], unit: Sequence[int]
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """``((row_start, row_end), (col_start, col_end))`` input indices seen by output ``unit``."""
    stacks = torch_layers(model)
    if stacks is None:
        return None
    out = []
    for stack, n, u in zip(stacks, input_shape, unit, strict=True):
        a = b = int(u)
        for w in reversed(layer_windows(stack, n)):
            a, b = w.start(a), w.start(b) + w.span - 1
        out.append((a, b))
    return out[0], out[1]


def gradient_map(
    model: Any, input_shape: Sequence[int], unit: Sequence[int] | None = None, channels: int | None = None,
    samples: int = 8, seed: int = 0,
) -> tuple[np.ndarray, tuple[int, int]]:
    """Mean |∂ output[unit] / ∂ input| over ``samples`` random inputs; ``unit`` defaults to the centre."""
    import torch

    if channels is None:
        first = next((m for m in model.modules() if hasattr(m, "in_channels")), None)
        channels = int(first.in_channels) if first is not None else 1
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((samples, channels, *input_shape), generator=gen, requires_grad=True)
    was_training = model.training
    model.eval()
    try:
        y = model(x)
        h, w = y.shape[-2:]
        pos = (h // 2, w // 2) if unit is None else (int(unit[0]), int(unit[1]))
        y[..., pos[0], pos[1]].sum().backward()
    finally:
        model.train(was_training)
    assert x.grad is not None
    return x.grad.abs().sum(dim=(0, 1)).numpy(), pos


def plot_effective_rf(
    model: Any, input_shape: Sequence[int], unit: Sequence[int] | None = None, samples: int = 8,
) -> Any:
    """Heatmap of the gradient of one output unit, the theoretical field as a dashed rectangle."""
    from matplotlib.patches import Rectangle

    from .plots import _figure

    grad, pos = gradient_map(model, input_shape, unit, samples=samples)
    fig = _figure(1, width=5.5, height=5.0)
    ax = fig.axes[0]
    im = ax.imshow(grad / (grad.max() or 1.0), cmap="magma")
    fig.colorbar(im, ax=ax, shrink=.8, label="|gradient| (normalized)")
    field = theoretical_field(model, input_shape, pos)
    title = f"effective receptive field of output {pos}"
    if field is not None:
        (r0, r1), (c0, c1) = field
        ax.add_patch(Rectangle((c0 - .5, r0 - .5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                               edgecolor="cyan", linestyle="--", linewidth=1.5, label="theoretical field"))
        ax.set_xlim(min(c0, 0) - 1, max(c1, input_shape[1] - 1) + 1)
        ax.set_ylim(max(r1, input_shape[0] - 1) + 1, min(r0, 0) - 1)
        ax.add_patch(Rectangle((-.5, -.5), input_shape[1], input_shape[0], fill=False, edgecolor="white",
                               linewidth=1, label="input"))
        ax.legend(loc="lower right", fontsize=8)
        title += f"\ntheoretical: rows {r0}…{r1}, cols {c0}…{c1}"
    ax.set_title(title, fontsize=10)
    return fig
