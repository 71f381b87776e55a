"""``padstride plot``: output size vs input or stride, receptive field vs depth, padded images, ERF."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import CliError, emit_json, parse_ints

__all__ = ["HELP", "KINDS", "add_arguments", "run"]

HELP = "Plot sizes, receptive fields, pad modes or a model's effective receptive field (PNG/SVG)."

KINDS = ("size", "stride", "rf", "padded", "erf")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS,
                        help="size: output vs input; stride: output vs stride; rf: receptive field vs depth; "
                             "padded: an image in each pad mode; erf: effective receptive field of a torch stack")
    parser.add_argument("-o", "--out", required=True, help="output file (.png or .svg)")
    parser.add_argument("-k", "--kernel", type=int, default=3, help="kernel size (size, stride)")
    parser.add_argument("-s", "--stride", type=int, default=1, help="stride (size)")
    parser.add_argument("-d", "--dilation", type=int, default=1, help="dilation (size, stride)")
    parser.add_argument("-i", "--input", default=None, help="input size (stride, rf: N; erf: H,W)")
    parser.add_argument("--sizes", default="1:64", help="input sizes for 'size', as A:B (default 1:64)")
    parser.add_argument("--strides", default="1:8", help="strides for 'stride', as A:B (default 1:8)")
    parser.add_argument("--conventions", default="valid,same,full,causal",
                        help="padding conventions to compare (size, stride, rf)")
    parser.add_argument("--stack", default="c3x6",
                        help="layers for rf/erf: c<k>[s<stride>][d<dil>][x<repeat>], p<k>[s<stride>]; "
                             "e.g. c3x2,p2,c3s2")
    parser.add_argument("--unit", default="0", help="rf: output unit to follow (index or 'centre')")
    parser.add_argument("--pads", default="2:2,2:2", help="padded: before:after per axis (default 2:2,2:2)")
    parser.add_argument("--modes", default="constant,reflect,replicate,circular,symmetric", help="padded: modes")
    parser.add_argument("--padding", default="same", help="erf: padding of the stack's convolutions")
    parser.add_argument("--json", action="store_true", help="print the written path (and data) as JSON")


def _range(text: str, name: str) -> range:
    try:
        a, _, b = text.partition(":")
        lo, hi = int(a), int(b or a)
    except ValueError:
        raise CliError(f"{name} expects A:B, got {text!r}") from None
    if lo < 1 or hi < lo:
        raise CliError(f"{name} needs 1 <= A <= B, got {text!r}")
    return range(lo, hi + 1)


def _names(text: str) -> list[str]:
    from ..geometry import normalize_convention

    return [normalize_convention(t) for t in text.split(",") if t.strip()]


def run(args: argparse.Namespace) -> int:
    from ..viz import plots
    from ..viz.receptive import as_dicts, fields, parse_stack

    if not args.out.lower().endswith((".png", ".svg")):
        raise CliError(f"--out must end in .png or .svg, got {args.out!r}")
    data: Any = None
    if args.kind == "size":
        fig = plots.output_vs_input(args.kernel, args.stride, args.dilation, _range(args.sizes, "--sizes"),
                                    _names(args.conventions))
    elif args.kind == "stride":
        n = parse_ints(args.input or "224", "--input")[0]
        fig = plots.output_vs_stride(n, args.kernel, args.dilation, _range(args.strides, "--strides"),
                                     _names(args.conventions))
    elif args.kind == "rf":
        n = parse_ints(args.input or "64", "--input")[0]
        unit: int | str = "centre" if args.unit in ("centre", "center") else parse_ints(args.unit, "--unit")[0]
        stacks = {c: parse_stack(args.stack, c) for c in _names(args.conventions)}
        fig = plots.receptive_field_vs_depth(stacks, n, unit)
        data = {name: as_dicts(fields(layers, n, unit)) for name, layers in stacks.items()}
    elif args.kind == "padded":
        pads = _pairs(args.pads)
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        for m in modes:
            if m not in plots.PAD_MODES:
                raise CliError(f"unknown pad mode {m!r}; expected one of {', '.join(plots.PAD_MODES)}")
        fig = plots.padded_modes(None, pads, modes)
    else:
        fig, data = _erf(args)
    path = plots.save(fig, args.out)
    if args.json:
        emit_json({"written": str(path), "data": data})
    else:
        print(path)
    return 0


def _erf(args: argparse.Namespace) -> tuple[Any, Any]:
    try:
        import torch
    except ImportError:
        raise CliError("'plot erf' needs PyTorch (pip install padstride[torch])") from None
    from ..viz.erf import gradient_map, plot_effective_rf, theoretical_field
    from ..viz.receptive import parse_stack

    shape = parse_ints(args.input or "32,32", "--input")
    if len(shape) == 1:
        shape = shape * 2
    if len(shape) != 2:
        raise CliError(f"--input for erf is H,W, got {args.input!r}")
    torch.manual_seed(0)
    modules: list[Any] = []
    channels = 1
    padding = args.padding if args.padding in ("same", "valid") else parse_ints(args.padding, "--padding")[0]
    for layer in parse_stack(args.stack, "valid"):
        if layer.op == "conv":
            pad = padding if not (padding == "same" and layer.stride > 1) else layer.dilation * (layer.kernel - 1) // 2
            modules += [torch.nn.Conv2d(channels, 4, layer.kernel, layer.stride, pad, layer.dilation), torch.nn.ReLU()]
            channels = 4
        else:
            modules.append(torch.nn.MaxPool2d(layer.kernel, layer.stride))
    model = torch.nn.Sequential(*modules)
    fig = plot_effective_rf(model, shape)
    _, pos = gradient_map(model, shape, samples=1)
    return fig, {"unit": list(pos), "theoretical": theoretical_field(model, shape, pos)}


def _pairs(text: str) -> tuple[tuple[int, int], ...]:
    """``"1:2,0:1"`` → ``((1, 2), (0, 1))``; ints are symmetric; one value covers both axes."""
    from .explain import parse_padding

    spec = parse_padding(text, 2)
    items = spec if isinstance(spec, list) else [spec, spec]
    if len(items) != 2 or any(isinstance(p, str) for p in items):
        raise CliError(f"--pads expects before:after (or an int) for each of 2 axes, got {text!r}")
    return tuple((p, p) if isinstance(p, int) else (int(p[0]), int(p[1])) for p in items)  # type: ignore[index]
