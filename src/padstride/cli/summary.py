"""``padstride summary MODEL``: a Keras-like table with pads, receptive field and findings, statically.

>>> from padstride.cli import main
>>> main(["summary", "examples/specs/seed003_valid.yaml", "--json"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

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
                        help="input shape per sample in the model's layout, e.g. 1,28,28 (torch) or 28,28,1; "
                             "repeat it for a model with several inputs (--input 3,224,224 --input 10), or name "
                             "forward's arguments (--input pixel_values=3,224,224); torch also takes the batch "
                             "axis (1,3,224,224) where the first layer shows it", action="append")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("-j", "--json", action="store_true", help="print one JSON object")
    out.add_argument("-m", "--markdown", action="store_true", help="print a Markdown table")


def run(args: argparse.Namespace) -> int:
    from ..analysis import GraphError, SpecError, analyze
    from ..analysis.errors import ModelError

    shape = _inputs(args.input or [])
    try:
        summary = analyze(args.model, shape)
    except (SpecError, ModelError, GraphError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        emit_json(summary.to_dict())
    else:
        sys.stdout.write((summary.markdown() if args.markdown else summary.table()) + "\n")
    return 1 if summary.errors else 0


def _inputs(texts: list[str]) -> Any:
    """``--input`` values: one shape, a list of shapes, or a dict name → shape (``name=3,224,224``).

    >>> _inputs(["3,8,8"]), _inputs(["3,8,8", "10"]), _inputs(["x=3,8,8"])
    ((3, 8, 8), [(3, 8, 8), (10,)], {'x': (3, 8, 8)})
    """
    named = ["=" in text for text in texts]
    if any(named) and not all(named):
        raise CliError(f"--input: name every input (NAME=SHAPE) or none, got {texts}")
    shapes: dict[str, tuple[int, ...]] = {}
    for i, text in enumerate(texts):
        name, _, value = text.rpartition("=") if "=" in text else (str(i), "", text)
        shape = parse_ints(value, "--input")
        if any(s < 1 for s in shape):
            raise CliError(f"--input sizes must be positive, got {text!r}")
        if name in shapes:
            raise CliError(f"--input: {name!r} is given twice")
        shapes[name.strip()] = shape
    if not shapes:
        return None
    if all(named):
        return shapes
    values = list(shapes.values())
    return values[0] if len(values) == 1 else values
