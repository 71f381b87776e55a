"""Animations of a window sliding over the padded input: one frame per output position.

Frames are NumPy arrays drawn by :mod:`padstride.viz.raster`; GIFs are written with Pillow, MP4
with imageio's ffmpeg plugin where it is installed (:func:`mp4_available`).

>>> from padstride.geometry import conv
>>> len(frames(conv((5, 5), 3, stride=2, padding="same"), cell=8))
9
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..geometry import AnyGeometry
from ._files import replacing
from .raster import layout, render_scene
from .scene import Scene, as_2d, scene
from .view import views

__all__ = ["animate", "cell_values", "frames", "iter_frames", "mp4_available", "save_frames"]


def cell_values(geometry: AnyGeometry, seed: int = 0, pool_mode: str = "max") -> tuple[np.ndarray, np.ndarray] | None:
    """Small integer input values and the op's output from :mod:`padstride.engine` (2-D view).

    Returns ``(source, output)`` shaped like the drawn grids (NaN where no number is shown), or
    None when the engine cannot compute this op.

    >>> from padstride.geometry import conv
    >>> source, output = cell_values(conv(4, 3, padding=1))   # padding 1: a zero at each end
    >>> source.tolist(), output.tolist()                      # each output: the sum of 3 cells
    ([[0.0, 3.0, 2.0, 2.0, 1.0, 0.0]], [[5.0, 7.0, 5.0, 3.0]])
    """
    try:
        from . import _engine
    except ImportError:  # pragma: no cover - engine not installed
        return None
    return _engine.values(geometry, scene(geometry), seed, pool_mode)


def frames(
    geometry: AnyGeometry,
    cell: int = 24,
    numbers: bool = False,
    seed: int = 0,
    pool_mode: str = "max",
) -> list[np.ndarray]:
    """One RGB frame per output position (raster order), for 1-D or 2-D geometries.

    With ``numbers`` the cells carry values computed by the engine (left out when it cannot):
    small integer inputs, a kernel of ones; ``pool_mode`` (``max``/``avg``) for pooling.
    """
    return list(iter_frames(geometry, cell, numbers, seed, pool_mode))


def iter_frames(
    geometry: AnyGeometry,
    cell: int = 24,
    numbers: bool = False,
    seed: int = 0,
    pool_mode: str = "max",
) -> Iterator[np.ndarray]:
    """The frames of :func:`frames`, one at a time. Large scenes are drawn as a windowed view
    (:mod:`padstride.viz.view`): at most ``MAX_FRAMES`` frames of a bounded size, for any input.

    >>> from padstride.geometry import conv
    >>> sum(1 for _ in iter_frames(conv((224, 224), 3, padding="same"), cell=4))
    144
    """
    full = scene(geometry)
    if full.ndim > 2:
        raise ValueError(f"animations draw 1-D and 2-D ops; this one has {full.ndim} spatial axes")
    sc: Scene = as_2d(full)
    drawn = views(sc)
    layout(sc, cell, drawn)  # refuses a picture past MAX_PIXELS before any drawing
    values = cell_values(geometry, seed, pool_mode) if numbers else None
    base = render_scene(sc, None, cell=cell, drawn=drawn)
    done: list[tuple[int, ...]] = []
    rows = [j for j in drawn[0].outputs if j is not None]
    cols = [j for j in drawn[1].outputs if j is not None]
    for pos2 in itertools.product(rows, cols):
        yield render_scene(sc, pos2, done, cell=cell, values=values, base=base, drawn=drawn)
        done.append(pos2)


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


def save_frames(images: Iterable[np.ndarray], path: str | Path, fps: float = 2.0) -> Path:
    """Write frames as ``.gif`` (Pillow) or ``.mp4`` (imageio + ffmpeg); the suffix decides.

    ``images`` may be a generator (:func:`iter_frames`): GIF frames are palettised one by one.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"unknown animation format {suffix!r}; use .gif or .mp4")
    it = iter(images)
    first = next(it, None)
    if first is None:
        raise ValueError("no frames to write")
    with replacing(path) as tmp:  # nothing half-written on failure
        if suffix == ".gif":
            from PIL import Image

            palette = _palette()

            def pal(f: np.ndarray) -> Any:
                return Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE)

            pal(first).save(tmp, format="GIF", save_all=True, append_images=[pal(f) for f in it],
                            duration=int(1000 / fps), loop=0, optimize=True)
        else:
            if not mp4_available():
                raise RuntimeError("writing MP4 needs imageio's ffmpeg plugin: pip install imageio-ffmpeg")
            import imageio.v2 as imageio

            chained = itertools.chain([first], it)
            even: list[npt.ArrayLike] = [f[: f.shape[0] // 2 * 2, : f.shape[1] // 2 * 2] for f in chained]
            imageio.mimwrite(tmp, even, fps=fps, macro_block_size=2)
    return path


def _palette() -> Any:
    """A fixed GIF palette: every colour the raster draws, plus greys for anti-aliased numbers
    (nearest-colour mapping is ~10× faster than an adaptive palette per frame)."""
    from PIL import Image

    from .raster import COLORS

    colors = list(dict.fromkeys(COLORS.values()))
    colors += [(v, v, v) for v in range(0, 256, 16) if (v, v, v) not in colors]
    flat = [c for rgb in colors[:256] for c in rgb]
    img = Image.new("P", (1, 1))
    img.putpalette(flat + [0] * (768 - len(flat)))
    return img


def animate(
    geometry: AnyGeometry,
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
    return save_frames(iter_frames(geometry, cell=cell, numbers=numbers, pool_mode=pool_mode), path, fps)
