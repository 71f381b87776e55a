"""``padstride sizes MODEL``: the input sizes a whole model runs at, and those that drop no pixel, statically.

>>> from padstride.cli import main
>>> main(["sizes", "examples/specs/seed001_unet_same.yaml", "--range", "60:70"])  # doctest: +ELLIPSIS
Model "...": square inputs 60–70, read once, one propagation per size
...
0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._common import CliError, emit_json, parse_ints

__all__ = ["HELP", "add_arguments", "run"]

HELP = "Input sizes at which a whole model runs and drops no pixel, and the nearest good size; without running it."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL",
                        help="spec file (.yaml/.json), .keras or .onnx file, FILE.py:ATTR or MODULE:ATTR")
    parser.add_argument("-i", "--input", metavar="SHAPE",
                        help="input shape per sample in the model's layout, read once at this size (torch: needed), "
                             "e.g. 3,225,225")
    parser.add_argument("-r", "--range", metavar="LO:HI", help="candidate sizes, inclusive (default: the size ± 64)")
    parser.add_argument("-s", "--size", type=int, metavar="N",
                        help="the size you want: its verdict and the nearest good ones (default: the input's size)")
    parser.add_argument("-j", "--json", action="store_true", help="print one JSON object")


def _range(text: str) -> range:
    lo, sep, hi = text.partition(":")
    if not sep:
        raise CliError(f"--range expects LO:HI, e.g. 160:320, got {text!r}")
    a, b = parse_ints(lo, "--range")[0], parse_ints(hi, "--range")[0]
    if a < 1 or b < a:
        raise CliError(f"--range needs 1 <= LO <= HI, got {text!r}")
    return range(a, b + 1)


def _list(sizes: Sequence[int], step: int | None) -> str:
    if not sizes:
        return "none"
    if step and len(sizes) > 4:
        return f"{sizes[0]}, {sizes[1]}, …, {sizes[-1]} (every {step})"
    shown = ", ".join(str(s) for s in sizes[:24])
    return shown + (f", … ({len(sizes)} sizes)" if len(sizes) > 24 else "")


def _near(pair: tuple[int | None, int | None], size: int) -> str:
    parts = [f"{s} ({s - size:+d})" for s in dict.fromkeys(p for p in pair if p is not None)]
    return " or ".join(parts) if parts else "none in the range"


def run(args: argparse.Namespace) -> int:
    from ..analysis import GraphError, SpecError
    from ..analysis.errors import ModelError
    from ..analysis.sizes import MAX_SIZES, input_sizes

    shape = parse_ints(args.input, "--input") if args.input else None
    if shape is not None and any(s < 1 for s in shape):
        raise CliError(f"--input sizes must be positive, got {args.input!r}")
    if args.range is not None:
        sizes = _range(args.range)
        if len(sizes) > MAX_SIZES:
            raise CliError(f"--range spans {len(sizes)} sizes; at most {MAX_SIZES}")
    try:
        if args.range is None:
            from ..analysis.attrs import InputAttrs, view
            from ..analysis.load import load_model

            graph = load_model(args.model, shape)
            first = view(graph.node(graph.inputs[0]), InputAttrs)["shape"] if graph.inputs else (1,)
            centre = args.size or (int(first[1]) if len(first) > 1 else 1)
            sizes = range(max(1, centre - 64), centre + 65)
            report = input_sizes(graph, sizes)
        else:
            report = input_sizes(args.model, sizes, shape)
    except (SpecError, ModelError, GraphError) as exc:
        raise CliError(str(exc)) from None
    want = args.size or report.traced
    if args.json:
        emit_json(report.to_dict(want))
        return 0
    lines = [f'Model "{report.name}": square inputs {sizes[0]}–{sizes[-1]}, read once, one propagation per size',
             f"runs at {len(report.runs)}: {_list(report.runs, report.step)}",
             f"no border pixel dropped at {len(report.clean)}: {_list(report.clean, None)}"]
    if report.unknown:
        lines.append(f"unknown at {len(report.unknown)} (a layer recorded at the read size only): "
                     f"{_list(report.unknown, None)}")
    if report.structural:
        lines.append(f"pixels skipped between windows at every size (kernel < stride): "
                     f"{', '.join(report.structural[:6])}{' …' if len(report.structural) > 6 else ''}")
    if want in sizes:
        v = report.verdict(want)
        state = "runs, drops no border pixel" if v.clean else "runs; " + "; ".join(v.dropped[:3]) if v.runs \
            else ("unknown: " if v.unknown else "does not run: ") + v.reason
        lines.append(f"{want}: {state}")
    lines.append(f"nearest to {want} that runs: {_near(report.nearest(want), want)}; "
                 f"that drops no pixel: {_near(report.nearest(want, clean=True), want)}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
