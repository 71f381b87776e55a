"""padstride.viz — pictures of the arithmetic: terminal drawings, animations, plots, the explorer.

>>> from padstride.geometry import conv
>>> from padstride.viz import draw_2d, scene
>>> scene(conv(5, 3, padding="same")).axes[0].kinds
('pad', 'input', 'input', 'input', 'input', 'input', 'pad')

Modules: ``scene`` (what a picture shows, from the geometry), ``terminal`` (box characters),
``raster`` / ``animation`` / ``gallery`` (GIF/MP4, NumPy + Pillow), ``plots`` / ``erf`` /
``receptive`` (matplotlib, torch), ``explorer`` / ``server`` (``padstride serve``). Plotting
libraries and torch are imported only when a function needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

from .scene import Scene, scene
from .terminal import draw_2d

__all__ = [
    "GALLERY",
    "Scene",
    "animate",
    "draw_2d",
    "frames",
    "output_vs_input",
    "output_vs_stride",
    "padded_modes",
    "plot_effective_rf",
    "receptive_field_vs_depth",
    "render",
    "scene",
    "write_gallery",
]

_LAZY = {
    "animate": "animation", "frames": "animation", "render": "raster", "GALLERY": "gallery",
    "write_gallery": "gallery", "output_vs_input": "plots", "output_vs_stride": "plots",
    "padded_modes": "plots", "receptive_field_vs_depth": "plots", "plot_effective_rf": "erf",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
