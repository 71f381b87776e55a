"""Command-line flags describing one layer, as ``padstride explain`` reads them, for ``animate``.

>>> import argparse
>>> p = argparse.ArgumentParser(); add_layer_arguments(p)
>>> geometry_from_args(p.parse_args(["-i", "6,6", "-k", "3", "-s", "2", "-p", "same"])).pads
((0, 1), (0, 1))
"""

from __future__ import annotations

import argparse
from typing import Any

from ._common import CliError, parse_ints
from .explain import _axis_values, parse_padding

__all__ = ["add_layer_arguments", "geometry_from_args"]


def add_layer_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--op --input --kernel --stride --padding --dilation --ceil-mode --output-padding``."""
    from ..explain.request import OPS

    g = parser.add_argument_group("layer")
    g.add_argument("--op", choices=OPS, default="conv", help="operation (default conv)")
    g.add_argument("-i", "--input", help="input size per axis, e.g. 5,5")
    g.add_argument("-k", "--kernel", default="3", help="kernel size per axis (default 3)")
    g.add_argument("-s", "--stride", default=None, help="stride per axis (default 1; pooling: kernel)")
    g.add_argument("-p", "--padding", default=None,
                   help="convention (valid, same, same_lower, torch_same, full, causal), an int, per-axis "
                        "ints 1,2, or before:after pairs 0:1,2:-1 (negative = crop; default valid; "
                        "0 for convtranspose)")
    g.add_argument("-d", "--dilation", default="1", help="dilation per axis (default 1)")
    g.add_argument("--ceil-mode", action="store_true", help="pooling: round the output size up")
    g.add_argument("--output-padding", default=None, help="transposed conv: extra cells at the end")


def geometry_from_args(args: argparse.Namespace) -> Any:
    """The geometry described by the layer flags (through :class:`padstride.explain.LayerRequest`)."""
    from ..explain.request import LayerRequest

    if not args.input:
        raise CliError("--input is required (e.g. --input 5,5)")
    n = parse_ints(args.input, "--input")
    nd = len(n)
    default = "0" if args.op == "convtranspose" else "valid"
    req = LayerRequest.make(
        args.op, n, _axis_values(args.kernel, "--kernel", nd),
        None if args.stride is None else _axis_values(args.stride, "--stride", nd),
        parse_padding(args.padding or default, nd), _axis_values(args.dilation, "--dilation", nd),
        ceil_mode=args.ceil_mode,
        output_padding=None if args.output_padding is None
        else _axis_values(args.output_padding, "--output-padding", nd),
    )
    return req.geometry()
