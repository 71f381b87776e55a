"""``padstride explain``: sizes, per-side pads, dropped pixels and framework code for one layer.

Example::

    padstride explain --input 224,225 --kernel 3 --stride 2 --padding same
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ._common import CliError, emit_json, parse_ints

if TYPE_CHECKING:
    from ..explain import Explanation

HELP = "explain one conv/pool/transposed-conv layer: output size, pads, dropped pixels, code per framework"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-i", "--input", required=True, help="input size, one per spatial axis: 224,225")
    p.add_argument("-k", "--kernel", required=True, help="kernel size (one value or one per axis)")
    p.add_argument("-s", "--stride", help="stride (default 1; the kernel for pooling)")
    p.add_argument("-p", "--padding", default=None,
                   help="convention (valid, same, same_lower, torch_same, full, causal), an int, "
                        "per-axis ints 1,2, or before:after pairs 0:1,1:1 (default valid; 0 for convtranspose)")
    p.add_argument("-d", "--dilation", default="1", help="dilation (default 1)")
    p.add_argument("--op", default="conv", choices=("conv", "maxpool", "avgpool", "convtranspose"))
    p.add_argument("--ceil-mode", action="store_true", help="pooling: round the window count up")
    p.add_argument("--output-padding", help="convtranspose: extra output cells at the end")
    p.add_argument("--count-include-pad", choices=("true", "false"),
                   help="avgpool divisor counts padded cells (default: true for explicit pads, false for same)")
    from ..geometry import CEIL_RULES, TRANSPOSE_RULES

    p.add_argument("--rule", help=f"pooling ceil_mode rule ({', '.join(CEIL_RULES)}; default torch) or "
                                  f"transposed-conv rule ({', '.join(TRANSPOSE_RULES)}; default keras)")
    p.add_argument("--channels", default="3,8", help="in,out channels used in the code snippets")
    p.add_argument("--draw", action="store_true", help="also draw the 2-D windows with box characters")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def parse_padding(text: str, ndim: int) -> object:
    """CLI padding syntax → a spec for :class:`padstride.geometry.Padding`.

    >>> parse_padding("0:1,1:1", 2)
    [(0, 1), (1, 1)]
    >>> parse_padding("same", 2)
    'same'
    """
    items: list[object] = []
    for part in (p.strip() for p in text.split(",")):
        if ":" in part:
            before, _, after = part.partition(":")
            try:
                items.append((int(before), int(after)))
            except ValueError:
                raise CliError(f"--padding pair {part!r} must be before:after integers") from None
        elif part.lstrip("-").isdigit():
            items.append(int(part))
        elif part:
            items.append(part)
    if len(items) == 1:
        return items[0] if not isinstance(items[0], tuple) else [items[0]] * ndim
    return items


def run(args: argparse.Namespace) -> int:
    from ..explain import explain, render

    input_size = parse_ints(args.input, "--input")
    ndim = len(input_size)
    default = "0" if args.op == "convtranspose" else "valid"
    channels = parse_ints(args.channels, "--channels")
    if len(channels) != 2:
        raise CliError(f"--channels expects in,out, got {args.channels!r}")
    expl = explain(
        args.op,
        input_size,
        _axis_values(args.kernel, "--kernel", ndim),
        None if args.stride is None else _axis_values(args.stride, "--stride", ndim),
        parse_padding(args.padding or default, ndim),
        _axis_values(args.dilation, "--dilation", ndim),
        ceil_mode=args.ceil_mode,
        output_padding=None if args.output_padding is None else _axis_values(
            args.output_padding, "--output-padding", ndim),
        count_include_pad=None if args.count_include_pad is None else args.count_include_pad == "true",
        rule=args.rule,
        channels=(channels[0], channels[1]),
    )
    drawing = _draw(expl) if args.draw else None
    if args.json:
        payload = expl.to_dict()
        if drawing is not None:
            payload["drawing"] = drawing
        emit_json(payload)
        return 0
    print(render(expl))
    if drawing is not None:
        print("\n" + drawing)
    return 0


def _axis_values(text: str, name: str, ndim: int) -> tuple[int, ...]:
    values = parse_ints(text, name)
    if len(values) == 1:
        return values * ndim
    if len(values) != ndim:
        raise CliError(f"{name} has {len(values)} values for {ndim} spatial axes")
    return values


def _draw(expl: Explanation) -> str:
    try:
        from ..viz.terminal import draw_2d
    except ImportError:
        raise CliError("--draw needs padstride.viz.terminal, which is not installed in this build") from None
    return draw_2d(expl.geometry)
