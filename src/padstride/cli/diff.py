"""``padstride diff A B``: compare two models of any frameworks layer by layer; exit 1 when they differ.

>>> from padstride.cli import main
>>> main(["diff", "examples/specs/seed003_valid.yaml", "examples/specs/seed003_same.yaml"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys

from ._common import CliError, emit_json
from .summary import _inputs

__all__ = ["HELP", "add_arguments", "run"]

HELP = ("Compare two models of any frameworks layer by layer: output shapes, per-side pads, kernel, stride, "
        "dilation, params (exit 1 when they differ)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for name in ("a", "b"):
        parser.add_argument(name, metavar=name.upper(),
                            help=f"model {name.upper()}: spec file, .keras or .onnx file, or FILE.py:ATTR / "
                                 "MODULE:ATTR (IMPORTS AND RUNS that code; only name code you trust)")
    parser.add_argument("-i", "--input", metavar="SHAPE", action="append",
                        help="A's input shape per sample in A's layout (e.g. 3,224,224 for torch); B takes the "
                             "same input in its own layout unless --input-b is given")
    parser.add_argument("--input-b", metavar="SHAPE", action="append", help="B's input shape, in B's layout")
    parser.add_argument("-j", "--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from ..analysis import GraphError, SpecError
    from ..analysis.diff import diff
    from ..analysis.load import ModelError

    try:
        result = diff(args.a, args.b, _inputs(args.input or []), _inputs(args.input_b or []))
    except (SpecError, ModelError, GraphError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        emit_json(result.to_dict())
    else:
        sys.stdout.write(result.table() + "\n")
    return 0 if result.same else 1
