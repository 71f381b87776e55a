"""``padstride animate``: a window sliding over the padded input, as a GIF (or MP4)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar

from ._args import finite_float, int_range, writable_dir, writable_output
from ._common import CliError, emit_json
from ._layer import add_layer_arguments, geometry_from_args

__all__ = ["HELP", "add_arguments", "run"]

T = TypeVar("T")

HELP = ("Animate a convolution, pooling or transposed convolution (GIF/MP4), or the whole gallery. "
        "Large inputs are drawn as a windowed view (start, ellipsis, end): at most 144 frames.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_layer_arguments(parser)
    parser.add_argument("-o", "--out", help="output file (.gif or .mp4)")
    parser.add_argument("--gallery", metavar="DIR",
                        help="write every case of Dumoulin & Visin's guide (and TF SAME cases) to DIR")
    parser.add_argument("--case", action="append", default=None, metavar="NAME",
                        help="with --gallery: only this case (repeatable); --list shows the names")
    parser.add_argument("--list", action="store_true", help="list the gallery cases and exit")
    parser.add_argument("--format", choices=("gif", "mp4"), default="gif", help="gallery file format")
    parser.add_argument("--cell", type=int_range(4, 64), default=24, help="cell size in pixels, 4..64 (default 24)")
    parser.add_argument("--fps", type=finite_float(0, 100, strict=True), default=2.0,
                        help="frames per second, up to 100 (default 2)")
    parser.add_argument("--numbers", action="store_true", help="write values in the cells (engine)")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")


def run(args: argparse.Namespace) -> int:
    from ..viz.animation import iter_frames, mp4_available, save_frames
    from ..viz.gallery import GALLERY, write_gallery

    if args.list:
        if args.json:
            emit_json({"cases": [{"name": c.name, "title": c.title} for c in GALLERY]})
        else:
            for c in GALLERY:
                print(f"{c.name:42s} {c.title}")
        return 0
    fmt = args.format if args.gallery else (args.out or "").rsplit(".", 1)[-1].lower()
    if fmt == "mp4" and not mp4_available():
        raise CliError("MP4 needs imageio's ffmpeg plugin (pip install imageio-ffmpeg); use .gif")
    if args.gallery:
        names = args.case
        known = {c.name for c in GALLERY}
        for name in names or ():
            if name not in known:
                raise CliError(f"unknown gallery case {name!r}; see padstride animate --list")
        writable_dir(args.gallery, "--gallery")  # before any work
        paths = _with_progress(lambda cb: write_gallery(args.gallery, names, args.cell, args.fps,
                                                        args.format, args.numbers, cb),
                               len(names) if names else len(GALLERY))
        written = [str(p) for p in paths]
    else:
        if not args.out:
            raise CliError("give --out FILE.gif (or --gallery DIR)")
        if fmt not in ("gif", "mp4"):
            raise CliError(f"--out must end in .gif or .mp4, got {args.out!r}")
        writable_output(args.out)  # before any work
        geometry = geometry_from_args(args)
        if geometry.ndim > 2:
            raise CliError(f"animations draw 1-D and 2-D ops; --input has {geometry.ndim} axes")
        images = iter_frames(geometry, cell=args.cell, numbers=args.numbers,
                             pool_mode="avg" if args.op == "avgpool" else "max")
        written = [str(save_frames(images, args.out, args.fps))]
    if args.json:
        emit_json({"written": written})
    else:
        for path in written:
            print(path)
    return 0


def _with_progress(work: Callable[[Any], T], total: int) -> T:
    """Run ``work(callback)`` with a rich progress bar when stderr is a terminal."""
    import sys

    try:
        from rich.progress import Progress
    except ImportError:
        return work(None)
    if not sys.stderr.isatty():
        return work(None)

    with Progress(transient=True) as bar:
        task = bar.add_task("gallery", total=total)
        return work(lambda case: bar.update(task, advance=1, description=case.name))

