"""Command-line flags describing one layer (op, sizes, padding) and the geometry they give.

Shared by ``plot``, ``animate`` and ``serve``.

>>> import argparse
>>> p = argparse.ArgumentParser(); add_layer_arguments(p)
>>> geometry_from_args(p.parse_args(["-i", "6,6", "-k", "3", "-s", "2", "-p", "same"])).pads
((0, 1), (0, 1))
"""

from __future__ import annotations

import argparse
from typing import Any

from ..viz.layer import OPS, make_geometry
from ._common import CliError, parse_ints

__all__ = ["add_layer_arguments", "geometry_from_args", "parse_padding"]


def parse_padding(text: str) -> object:
    """A convention name, ints (one per axis, symmetric) or ``before:after`` pairs per axis.

    >>> parse_padding("same"), parse_padding("1"), parse_padding("0:1,2:-1"), parse_padding("1,same")
    ('same', 1, ((0, 1), (2, -1)), ((1, 1), 'same'))
    """
    text = text.strip()
    if not text:
        raise CliError("--padding is empty")
    if text[0].isalpha():
        return text
    items: list[object] = []
    for part in text.split(","):
        if ":" in part:
            before, _, after = part.partition(":")
            items.append(tuple(parse_ints(f"{before},{after}", "--padding")))
        elif part.strip() and (part.strip()[0].isalpha()):
            items.append(part.strip())
        else:
            items.append(parse_ints(part, "--padding")[0])
    if len(items) == 1 and not isinstance(items[0], tuple):
        return items[0]
    return tuple((i, i) if isinstance(i, int) else i for i in items)


def add_layer_arguments(parser: argparse.ArgumentParser, input_default: str | None = None) -> None:
    """Add ``--op --input --kernel --stride --padding --dilation --ceil-mode --output-padding``."""
    g = parser.add_argument_group("layer")
    g.add_argument("--op", choices=OPS, default="conv", help="operation (default conv)")
    g.add_argument("-i", "--input", default=input_default, help="input size per axis, e.g. 5,5")
    g.add_argument("-k", "--kernel", default="3", help="kernel size per axis (default 3)")
    g.add_argument("-s", "--stride", default=None, help="stride per axis (default 1; pooling: kernel)")
    g.add_argument("-p", "--padding", default="valid",
                   help="convention (valid, same, same_lower, torch_same, full, causal), ints, or b:a pairs")
    g.add_argument("-d", "--dilation", default="1", help="dilation per axis (default 1)")
    g.add_argument("--ceil-mode", action="store_true", help="pooling: round the output size up")
    g.add_argument("--output-padding", default=None, help="transposed conv: extra cells at the end")


def geometry_from_args(args: argparse.Namespace) -> Any:
    """The geometry described by the layer flags."""
    if not args.input:
        raise CliError("--input is required (e.g. --input 5,5)")
    ints = parse_ints(args.input, "--input")
    nd = len(ints)

    def vec(text: str | None, name: str) -> tuple[int, ...] | None:
        if text is None:
            return None
        values = parse_ints(text, name)
        if len(values) == 1:
            return values * nd
        if len(values) != nd:
            raise CliError(f"{name} has {len(values)} values for {nd} input axes")
        return values

    padding = parse_padding(args.padding)
    if isinstance(padding, tuple) and len(padding) == 1:
        padding = padding * nd
    if args.op not in OPS:
        raise CliError(f"--op must be one of {', '.join(OPS)}, got {args.op!r}")
    return make_geometry(
        args.op, ints, vec(args.kernel, "--kernel"), vec(args.stride, "--stride"), padding,
        vec(args.dilation, "--dilation"), args.ceil_mode, vec(args.output_padding, "--output-padding"),
    )
