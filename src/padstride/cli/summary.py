"""``padstride summary MODEL``: a Keras-like table with pads, receptive field and findings, statically.

>>> from padstride.cli import main
>>> main(["summary", "examples/specs/seed003_valid.yaml", "--json"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys

from ._common import CliError, emit_json, parse_ints

__all__ = ["HELP", "add_arguments", "run"]

HELP = ("Shapes, pads, params, MACs and receptive fields of a whole model, without running it "
        "(FILE.py:ATTR and MODULE:ATTR import and run that Python code)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL",
                        help="spec file (.yaml/.json), .keras or .onnx file (read, nothing run), or FILE.py:ATTR / "
                             "MODULE:ATTR (a model, a model class or a zero-argument factory: this IMPORTS AND "
                             "RUNS that code, and the model's forward; only name code you trust)")
    parser.add_argument("-i", "--input", metavar="SHAPE",
                        help="input shape per sample in the model's layout, e.g. 1,28,28 (torch) or 28,28,1")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("-j", "--json", action="store_true", help="print one JSON object")
    out.add_argument("-m", "--markdown", action="store_true", help="print a Markdown table")


def run(args: argparse.Namespace) -> int:
    from ..analysis import GraphError, SpecError, analyze
    from ..analysis.load import ModelError

    shape = parse_ints(args.input, "--input") if args.input else None
    if shape is not None and any(s < 1 for s in shape):
        raise CliError(f"--input sizes must be positive, got {args.input!r}")
    try:
        summary = analyze(args.model, shape)
    except (SpecError, ModelError, GraphError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        emit_json(summary.to_dict())
    else:
        sys.stdout.write((summary.markdown() if args.markdown else summary.table()) + "\n")
    return 1 if summary.errors else 0
