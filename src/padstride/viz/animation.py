"""Animations of a window sliding over the padded input: one frame per output position.

Frames are NumPy arrays drawn by :mod:`padstride.viz.raster`; GIFs are written with Pillow, MP4
with imageio's ffmpeg plugin where it is installed (:func:`mp4_available`).

>>> from padstride.geometry import conv
>>> len(frames(conv((5, 5), 3, stride=2, padding="same"), cell=8))
9
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .raster import render_scene
from .scene import Scene, as_2d, scene

__all__ = ["animate", "cell_values", "frames", "mp4_available", "save_frames"]


def cell_values(geometry: Any, seed: int = 0, pool_mode: str = "max") -> tuple[np.ndarray, np.ndarray] | None:
    """Small integer input values and the op's output from :mod:`padstride.engine` (2-D view).

    Returns ``(source, output)`` shaped like the drawn grids (NaN where no number is shown), or
    None when the engine cannot compute this op.

    >>> from padstride.geometry import conv
    >>> cell_values(conv(4, 3)) is None or True
    True
    """
    try:
        from . import _engine
    except ImportError:  # pragma: no cover - engine not installed
        return None
    return _engine.values(geometry, scene(geometry), seed, pool_mode)


def frames(
    geometry: Any,
    cell: int = 24,
    numbers: bool = False,
    seed: int = 0,
    pool_mode: str = "max",
) -> list[np.ndarray]:
    """One RGB frame per output position (raster order), for 1-D or 2-D geometries.

    With ``numbers`` the cells carry values computed by the engine (left out when it cannot):
    small integer inputs, a kernel of ones; ``pool_mode`` (``max``/``avg``) for pooling.
    """
    full = scene(geometry)
    if full.ndim > 2:
        raise ValueError(f"animations draw 1-D and 2-D ops; this one has {full.ndim} spatial axes")
    sc: Scene = as_2d(full)
    values = cell_values(geometry, seed, pool_mode) if numbers else None
    base = render_scene(sc, None, cell=cell)
    out, done = [], []
    for pos in full.positions():
        pos2 = (0, *pos) if full.ndim == 1 else tuple(pos)
        out.append(render_scene(sc, pos2, done, cell=cell, values=values, base=base))
        done.append(pos2)
    return out


def mp4_available() -> bool:
    """True when imageio can write MP4 (its ffmpeg plugin is installed).

    >>> isinstance(mp4_available(), bool)
    True
    """
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def save_frames(images: Sequence[np.ndarray], path: str | Path, fps: float = 2.0) -> Path:
    """Write frames as ``.gif`` (Pillow) or ``.mp4`` (imageio + ffmpeg); the suffix decides."""
    path = Path(path)
    if not images:
        raise ValueError("no frames to write")
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        from PIL import Image

        pics = [Image.fromarray(f).convert("P", palette=Image.Palette.ADAPTIVE, colors=64) for f in images]
        pics[0].save(path, save_all=True, append_images=pics[1:], duration=int(1000 / fps), loop=0,
                     optimize=True)
    elif suffix == ".mp4":
        if not mp4_available():
            raise RuntimeError("writing MP4 needs imageio's ffmpeg plugin: pip install imageio-ffmpeg")
        import imageio.v2 as imageio

        even = [f[: f.shape[0] // 2 * 2, : f.shape[1] // 2 * 2] for f in images]
        imageio.mimwrite(path, even, fps=fps, macro_block_size=2)
    else:
        raise ValueError(f"unknown animation format {suffix!r}; use .gif or .mp4")
    return path


def animate(
    geometry: Any,
    path: str | Path,
    cell: int = 24,
    fps: float = 2.0,
    numbers: bool = False,
    pool_mode: str = "max",
) -> Path:
    """Write the animation of ``geometry`` to ``path`` (``.gif`` or ``.mp4``).

    >>> import tempfile, os
    >>> from padstride.geometry import conv_transpose
    >>> p = animate(conv_transpose(3, 3, stride=2, padding=1, output_padding=1),
    ...             os.path.join(tempfile.mkdtemp(), "t.gif"), cell=8)
    >>> p.stat().st_size > 0
    True
    """
    return save_frames(frames(geometry, cell=cell, numbers=numbers, pool_mode=pool_mode), path, fps)
