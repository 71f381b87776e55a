"""Plots of the arithmetic (matplotlib, Agg; no pyplot state): sizes, receptive fields, padded images.

Every function returns a :class:`matplotlib.figure.Figure`; :func:`save` writes PNG or SVG.

>>> fig = output_vs_input(kernel=3, stride=2, sizes=range(8, 33))
>>> [line.get_label() for line in fig.axes[0].get_lines()]
['valid', 'same', 'full', 'causal (= same)']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..geometry import Layer, PaddingError, conv_axis
from ._files import replacing
from .receptive import Field, fields, model_fields

__all__ = [
    "PAD_MODES",
    "fields_vs_depth",
    "model_rf_vs_depth",
    "output_vs_input",
    "output_vs_stride",
    "pad_image",
    "padded_modes",
    "receptive_field_vs_depth",
    "save",
]

DEFAULT_CONVENTIONS = ("valid", "same", "full", "causal")

_NumpyPadMode = Literal["constant", "reflect", "edge", "wrap", "symmetric"]

#: Pad modes shown by :func:`padded_modes`, with NumPy's name for each.
PAD_MODES: dict[str, _NumpyPadMode] = {
    "constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap", "symmetric": "symmetric",
}


def _figure(ncols: int = 1, width: float = 6.0, height: float = 4.0) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    FigureCanvasAgg(fig)
    fig.subplots(1, ncols, squeeze=False)
    return fig


def save(fig: Any, path: str | Path, dpi: int = 100) -> Path:
    """Write ``fig`` as PNG or SVG (the suffix decides)."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"plots are written as .png or .svg, got {path.name!r}")
    with replacing(path) as tmp:  # nothing half-written on failure
        fig.savefig(tmp, dpi=dpi)
    return path


def _sizes(n_values: Iterable[int], kernel: int, stride: int, dilation: int, padding: str) -> np.ndarray:
    out: list[float] = []
    for n in n_values:
        try:
            out.append(conv_axis(n, kernel, stride, padding, dilation).output)
        except PaddingError:  # e.g. valid with n < K, torch_same with stride > 1
            out.append(np.nan)
    return np.array(out, dtype=float)


#: One line style and marker per convention, so lines that coincide stay visible on each other.
_STYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "x", "D", "v")


def _label(name: str, y: np.ndarray, drawn: dict[str, np.ndarray]) -> str:
    """``name``, plus ``(= other)`` when its line is the same as one already drawn."""
    same = [other for other, prev in drawn.items() if np.array_equal(prev, y, equal_nan=True)]
    return f"{name} (= {', '.join(same)})" if same else name


def output_vs_input(
    kernel: int = 3, stride: int = 1, dilation: int = 1, sizes: Iterable[int] = range(1, 65),
    conventions: Sequence[str] = DEFAULT_CONVENTIONS,
) -> Any:
    """Output length vs input length, one line per padding convention."""
    n = np.array(list(sizes))
    fig = _figure()
    ax = fig.axes[0]
    drawn: dict[str, np.ndarray] = {}
    for i, conv_name in enumerate(conventions):
        y = _sizes(n, kernel, stride, dilation, conv_name)
        label = _label(conv_name, y, drawn)
        ax.step(n, y, where="mid", label=label, marker=_MARKERS[i % len(_MARKERS)],
                linestyle=_STYLES[i % len(_STYLES)], linewidth=2.2 - 0.4 * (i % 4), markersize=7 - i % 4)
        drawn[conv_name] = y
    ax.set(xlabel="input size", ylabel="output size",
           title=f"Output size — kernel {kernel}, stride {stride}" + (f", dilation {dilation}" if dilation > 1 else ""))
    ax.grid(True, alpha=.3)
    ax.legend()
    return fig


def output_vs_stride(
    n: int = 224, kernel: int = 3, dilation: int = 1, strides: Iterable[int] = range(1, 9),
    conventions: Sequence[str] = DEFAULT_CONVENTIONS,
) -> Any:
    """Output length vs stride for one input length, one line per convention.

    >>> fig = output_vs_stride(28, 3, strides=[1, 2, 3])
    >>> fig.axes[0].get_lines()[1].get_ydata().tolist()   # same: ceil(28 / s)
    [28.0, 14.0, 10.0]
    """
    s = list(strides)
    fig = _figure()
    ax = fig.axes[0]
    drawn: dict[str, np.ndarray] = {}
    for i, conv_name in enumerate(conventions):
        y = np.array([_sizes([n], kernel, st, dilation, conv_name)[0] for st in s])
        ax.plot(s, y, marker=_MARKERS[i % len(_MARKERS)], linestyle=_STYLES[i % len(_STYLES)],
                label=_label(conv_name, y, drawn), linewidth=2.2 - 0.4 * (i % 4), markersize=7 - i % 4)
        drawn[conv_name] = y
    ax.set(xlabel="stride", ylabel="output size", title=f"Output size vs stride — input {n}, kernel {kernel}")
    ax.grid(True, alpha=.3)
    ax.legend()
    return fig


def receptive_field_vs_depth(
    stacks: Mapping[str, Sequence[Layer]], n: int, unit: int | str = 0,
) -> Any:
    """Receptive field per depth of each named stack (see :func:`fields_vs_depth`).

    ``unit`` is the output unit followed (0 = the corner, where padding matters most, or
    ``'centre'``). The sizes coincide for all paddings; centre and effective padding do not.

    >>> from padstride.geometry import Layer
    >>> fig = receptive_field_vs_depth({"valid": [Layer.conv(3)] * 4, "same": [Layer.conv(3, padding="same")] * 4}, 32)
    >>> [t.get_text() for t in (a.title for a in fig.axes)]
    ['receptive field size', 'centre of unit 0', 'effective stride', 'effective padding']
    """
    return fields_vs_depth({name: fields(layers, n, unit) for name, layers in stacks.items()}, unit)


def model_rf_vs_depth(summary: Any, unit: int | str = 0) -> Any:
    """Receptive field per layer of the main path of a model read by :mod:`padstride.analysis`, per axis.

    >>> from padstride.analysis import GraphBuilder, analyze
    >>> b = GraphBuilder()
    >>> x = b.conv(b.max_pool(b.conv(b.input((1, 32, 24)), 4, 3, padding=1), 2), 4, 3, 2, "same")
    >>> [line.get_label() for line in model_rf_vs_depth(analyze(b.build())).axes[0].get_lines()]
    ['H, W']
    """
    axes = ("D", "H", "W")[-len(summary.layer(summary.graph.inputs[0]).spatial):]
    series = {name: model_fields(summary, unit, axis) for axis, name in enumerate(axes)}
    keys = [[(f.size, f.centre, f.stride, f.padding) for f in items] for items in series.values()]
    if all(k == keys[0] for k in keys):  # one line when every axis has the same fields
        series = {", ".join(axes): series[axes[0]]}
    return fields_vs_depth(series, unit, xlabel="layers along the main path")


def fields_vs_depth(series: Mapping[str, Sequence[Field]], unit: int | str = 0, xlabel: str = "depth (layers)") -> Any:
    """Four panels per named series of fields: size, centre of the followed unit, effective stride and padding."""
    fig = _figure(4, width=3.8, height=3.6)
    panels: tuple[tuple[str, str, Callable[[Field], float]], ...] = (
        ("receptive field size", "input pixels", lambda f: f.size),
        (f"centre of unit {unit}", "input index", lambda f: f.centre),
        ("effective stride", "input pixels", lambda f: f.stride),
        ("effective padding", "input pixels", lambda f: f.padding))
    for ax, (title, ylabel, value) in zip(fig.axes, panels, strict=True):
        for name, items in series.items():
            ax.plot([f.depth for f in items], [value(f) for f in items], marker="o", label=name)
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
        ax.grid(True, alpha=.3)
        ax.legend(fontsize=8)
    return fig


def pad_image(image: np.ndarray, pads: Sequence[tuple[int, int]], mode: str) -> np.ndarray:
    """Pad a 2-D image; uses ``padstride.engine.pad`` when it offers the mode, else ``numpy.pad``.

    >>> pad_image(np.arange(3.0)[None], ((0, 0), (2, 1)), "reflect").tolist()
    [[2.0, 1.0, 0.0, 1.0, 2.0, 1.0]]
    """
    if mode not in PAD_MODES:
        raise ValueError(f"unknown pad mode {mode!r}; expected one of {', '.join(PAD_MODES)}")
    try:
        from ..engine import pad as engine_pad

        return np.asarray(engine_pad(image, tuple(pads), mode=mode))
    except (ImportError, AttributeError, TypeError, ValueError, NotImplementedError):
        return np.pad(image, tuple(pads), mode=PAD_MODES[mode])


def padded_modes(
    image: np.ndarray | None = None, pads: Sequence[tuple[int, int]] = ((2, 2), (2, 2)),
    modes: Sequence[str] = tuple(PAD_MODES),
) -> Any:
    """The same image padded in each mode, with the original image outlined.

    >>> len(padded_modes(pads=((1, 2), (0, 3))).axes)
    6
    """
    from matplotlib.patches import Rectangle

    if image is None:
        image = 1.0 + np.add.outer(np.arange(5), 2 * np.arange(6))
    fig = _figure(len(modes) + 1, width=2.6, height=2.8)
    panels = [("input", image, ((0, 0), (0, 0))), *((m, pad_image(image, pads, m), pads) for m in modes)]
    for ax, (name, img, p) in zip(fig.axes, panels, strict=True):
        ax.imshow(img, cmap="viridis", vmin=min(float(image.min()), 0.0), vmax=float(image.max()))
        ax.add_patch(Rectangle((p[1][0] - .5, p[0][0] - .5), image.shape[1], image.shape[0],
                               fill=False, edgecolor="white", linewidth=2))
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"pads {tuple(tuple(x) for x in pads)} (before, after) per axis", fontsize=10)
    return fig
