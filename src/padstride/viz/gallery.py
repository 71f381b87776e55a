"""The cases of Dumoulin & Visin's "A guide to convolution arithmetic", plus what it does not show.

Each case is a geometry from :mod:`padstride.geometry`; :func:`write_gallery` animates all of them.
Extra cases: TF/Keras SAME with an odd total pad (the extra pixel goes after), ONNX SAME_LOWER,
causal 1-D, ``ceil_mode`` pooling, Keras SAME transposed convolution, dilation with stride.

>>> [c.name for c in GALLERY][:3]
['no_padding_no_strides', 'arbitrary_padding_no_strides', 'same_padding_no_strides']
>>> case("padding_strides_odd_transposed").geometry().output
(6, 6)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..geometry import AnyGeometry, conv, conv_transpose, pool
from ._files import replacing

__all__ = ["GALLERY", "Case", "case", "write_gallery"]


@dataclass(frozen=True)
class Case:
    """A named picture: a one-line description and the geometry it draws."""

    name: str
    title: str
    geometry: Callable[[], AnyGeometry]


def _c(n: int, k: int, s: int = 1, p: object = 0, d: int = 1) -> Callable[[], AnyGeometry]:
    return lambda: conv((n, n), k, stride=s, padding=p, dilation=d)


def _t(n: int, k: int, s: int = 1, p: int = 0, op: int = 0) -> Callable[[], AnyGeometry]:
    return lambda: conv_transpose((n, n), k, stride=s, padding=p, output_padding=op)


GALLERY: tuple[Case, ...] = (
    # Dumoulin & Visin, figures 2.1-2.7 (convolution), 4.1-4.7 (transposed), 5.1 (dilation)
    Case("no_padding_no_strides", "4×4 input, 3×3 kernel, no padding, stride 1", _c(4, 3)),
    Case("arbitrary_padding_no_strides", "5×5 input, 4×4 kernel, padding 2, stride 1", _c(5, 4, 1, 2)),
    Case("same_padding_no_strides", "5×5 input, 3×3 kernel, half padding 1", _c(5, 3, 1, 1)),
    Case("full_padding_no_strides", "5×5 input, 3×3 kernel, full padding 2", _c(5, 3, 1, 2)),
    Case("no_padding_strides", "5×5 input, 3×3 kernel, stride 2", _c(5, 3, 2)),
    Case("padding_strides", "5×5 input, 3×3 kernel, padding 1, stride 2", _c(5, 3, 2, 1)),
    Case("padding_strides_odd", "6×6 input, 3×3 kernel, padding 1, stride 2", _c(6, 3, 2, 1)),
    Case("no_padding_no_strides_transposed", "transpose of 4×4, k 3: 2×2 → 4×4", _t(2, 3)),
    Case("arbitrary_padding_no_strides_transposed", "transpose of 5×5, k 4, p 2: 6×6 → 5×5",
         _t(6, 4, 1, 2)),
    Case("same_padding_no_strides_transposed", "transpose of half padding: 5×5 → 5×5", _t(5, 3, 1, 1)),
    Case("full_padding_no_strides_transposed", "transpose of full padding: 7×7 → 5×5", _t(7, 3, 1, 2)),
    Case("no_padding_strides_transposed", "transpose of 5×5, k 3, s 2: 2×2 → 5×5", _t(2, 3, 2)),
    Case("padding_strides_transposed", "transpose of 5×5, k 3, s 2, p 1: 3×3 → 5×5", _t(3, 3, 2, 1)),
    Case("padding_strides_odd_transposed", "transpose of 6×6, k 3, s 2, p 1, output_padding 1",
         _t(3, 3, 2, 1, 1)),
    Case("dilation", "7×7 input, 3×3 kernel, dilation 2", _c(7, 3, d=2)),
    # beyond the guide
    Case("tf_same_stride2_even", "TF SAME, 6×6, k 3, s 2: pads (0, 1) per axis", _c(6, 3, 2, "same")),
    Case("tf_same_even_kernel", "TF SAME, 5×5, k 4, s 1: pads (1, 2) per axis", _c(5, 4, 1, "same")),
    Case("tf_same_mixed", "TF SAME, 7×6, k 3, s 2: pads (1, 1) and (0, 1)",
         lambda: conv((7, 6), 3, stride=2, padding="same")),
    Case("onnx_same_lower", "ONNX SAME_LOWER, 6×6, k 3, s 2: pads (1, 0)", _c(6, 3, 2, "same_lower")),
    Case("keras_same_transposed", "Keras SAME transposed, 3×3, k 3, s 2 → 6×6",
         lambda: conv_transpose((3, 3), 3, stride=2, padding="same")),
    Case("dilation_strides", "7×7 input, 3×3 kernel, dilation 2, stride 2, TF SAME",
         _c(7, 3, 2, "same", 2)),
    Case("maxpool_ceil_mode", "max pool 5×5, k 2, s 2, ceil_mode (PyTorch rule)",
         lambda: pool((5, 5), 2, ceil_mode=True)),
    Case("valid_dropped_pixels", "VALID, 6×6, k 3, s 2: last row and column never read", _c(6, 3, 2)),
    Case("causal_1d", "1-D causal, 8 samples, k 3, dilation 2", lambda: conv(8, 3, padding="causal", dilation=2)),
    Case("asymmetric_crop", "explicit pads ((2, -1), (0, 1)): negative pad crops",
         lambda: conv((5, 5), 3, padding=((2, -1), (0, 1)))),
)


def case(name: str) -> Case:
    """The gallery case called ``name``."""
    for c in GALLERY:
        if c.name == name:
            return c
    raise KeyError(f"no gallery case {name!r}; known: {', '.join(c.name for c in GALLERY)}")


def write_gallery(
    directory: str | Path,
    names: Iterable[str] | None = None,
    cell: int = 24,
    fps: float = 2.0,
    fmt: str = "gif",
    numbers: bool = False,
    progress: Callable[[Case], None] | None = None,
) -> list[Path]:
    """Animate every case (or those in ``names``) into ``directory``; returns the written files.

    Also writes ``index.md`` listing the files with their titles.

    >>> import tempfile
    >>> [p.name for p in write_gallery(tempfile.mkdtemp(), ["dilation"], cell=6)]
    ['dilation.gif', 'index.md']
    """
    from .animation import animate

    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = GALLERY if names is None else tuple(case(n) for n in names)
    written, lines = [], ["# padstride animation gallery", ""]
    for c in chosen:
        path = animate(c.geometry(), out_dir / f"{c.name}.{fmt}", cell=cell, fps=fps, numbers=numbers)
        written.append(path)
        lines.append(f"- `{path.name}` — {c.title}")
        if progress is not None:
            progress(c)
    index = out_dir / "index.md"
    with replacing(index) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [*written, index]
