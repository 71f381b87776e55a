"""``padstride plot``: output size vs input or stride, receptive field vs depth, padded images, ERF."""

from __future__ import annotations

import argparse
import math
import sys
from typing import TYPE_CHECKING, Any

from ._args import int_range, span, writable_output
from ._common import CliError, emit_json, parse_ints

if TYPE_CHECKING:
    from ..geometry import Layer

__all__ = ["HELP", "KINDS", "add_arguments", "run"]

HELP = "Plot sizes, receptive fields, pad modes or a model's effective receptive field (PNG/SVG)."

KINDS = ("size", "stride", "rf", "padded", "erf")

#: Largest size, kernel, stride or dilation a plot takes (any axis length padstride can answer).
MAX_SIZE = 10**18
#: Points on a size or stride plot, at most.
MAX_POINTS = 10_000
#: Pad per side of the 'padded' picture (a 5×6 image), at most.
MAX_PAD = 100
#: Pixels of an 'erf' input (H·W), at most: the gradient is computed on them.
MAX_ERF_PIXELS = 1024 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS,
                        help="size: output vs input; stride: output vs stride; rf: receptive field vs depth; "
                             "padded: an image in each pad mode; erf: effective receptive field of a torch model")
    parser.add_argument("-o", "--out", required=True, help="output file (.png or .svg)")
    parser.add_argument("-k", "--kernel", type=int_range(1, MAX_SIZE), default=3, help="kernel size (size, stride)")
    parser.add_argument("-s", "--stride", type=int_range(1, MAX_SIZE), default=1, help="stride (size)")
    parser.add_argument("-d", "--dilation", type=int_range(1, MAX_SIZE), default=1, help="dilation (size, stride)")
    parser.add_argument("-i", "--input", default=None,
                        help="input size (stride, rf --stack: N; erf --stack: H,W); with --model the input "
                             "shape per sample in the model's layout, as for 'padstride summary'")
    parser.add_argument("-m", "--model", default=None, metavar="MODEL",
                        help="rf/erf: a model instead of --stack (spec file, .keras, .onnx, FILE.py:ATTR, "
                             "MODULE:ATTR; erf needs a torch model)")
    parser.add_argument("--layer", default=None,
                        help="erf --model: the layer whose unit is followed (default: the output if it is a "
                             "feature map, else the last feature map)")
    parser.add_argument("--sizes", default="1:64",
                        help=f"input sizes for 'size', as A:B (default 1:64; at most {MAX_POINTS:,} sizes)")
    parser.add_argument("--strides", default="1:8",
                        help=f"strides for 'stride', as A:B (default 1:8; at most {MAX_POINTS:,} strides)")
    parser.add_argument("--conventions", default="valid,same,full,causal",
                        help="padding conventions to compare (size, stride, rf)")
    parser.add_argument("--stack", default="c3x6",
                        help="layers for rf/erf: c<k>[s<stride>][d<dil>][x<repeat>], p<k>[s<stride>]; "
                             "e.g. c3x2,p2,c3s2")
    parser.add_argument("--unit", default=None,
                        help="unit to follow: rf an index or 'centre' (default 0); erf R,C (default the centre)")
    parser.add_argument("--pads", default="2:2,2:2", help="padded: before:after per axis (default 2:2,2:2)")
    parser.add_argument("--modes", default="constant,reflect,replicate,circular,symmetric", help="padded: modes")
    parser.add_argument("--padding", default="same", help="erf: padding of the stack's convolutions")
    parser.add_argument("--json", action="store_true", help="print the written path (and data) as JSON")


def _range(text: str, name: str) -> range:
    try:
        return span(1, MAX_SIZE, MAX_POINTS)(text)
    except argparse.ArgumentTypeError as exc:
        raise CliError(f"{name} {exc}") from None


def _size(text: str | None, default: str, name: str) -> int:
    """One size (``--input`` of stride and rf): an integer in 1 … MAX_SIZE."""
    n = parse_ints(text or default, name)[0]
    if not 1 <= n <= MAX_SIZE:
        raise CliError(f"{name} must be between 1 and {MAX_SIZE}, got {n}")
    return n


def _names(text: str) -> list[str]:
    from ..geometry import normalize_convention

    return [normalize_convention(t) for t in text.split(",") if t.strip()]


def run(args: argparse.Namespace) -> int:
    from ..viz import plots
    from ..viz.receptive import as_dicts, fields, parse_stack

    if not args.out.lower().endswith((".png", ".svg")):
        raise CliError(f"--out must end in .png or .svg, got {args.out!r}")
    writable_output(args.out)  # before any work
    data: Any = None
    if args.kind == "size":
        fig = plots.output_vs_input(args.kernel, args.stride, args.dilation, _range(args.sizes, "--sizes"),
                                    _names(args.conventions))
    elif args.kind == "stride":
        n = _size(args.input, "224", "--input")
        fig = plots.output_vs_stride(n, args.kernel, args.dilation, _range(args.strides, "--strides"),
                                     _names(args.conventions))
    elif args.kind == "rf" and args.model:
        fig, data = _model_rf(args)
    elif args.kind == "rf":
        n = _size(args.input, "64", "--input")
        unit = _rf_unit(args.unit)
        stacks = {c: parse_stack(args.stack, c) for c in _names(args.conventions)}
        fig = plots.receptive_field_vs_depth(stacks, n, unit)
        data = {name: as_dicts(fields(layers, n, unit)) for name, layers in stacks.items()}
    elif args.kind == "padded":
        pads = _pairs(args.pads)
        if any(not 0 <= p <= MAX_PAD for pair in pads for p in pair):
            raise CliError(f"--pads must be between 0 and {MAX_PAD} per side, got {args.pads!r}")
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


def _rf_unit(text: str | None) -> int | str:
    if text in ("centre", "center"):
        return "centre"
    unit = parse_ints(text or "0", "--unit")[0]
    if unit < 0:
        raise CliError(f"--unit must be >= 0 or 'centre', got {unit}")
    return unit


def _summary(args: argparse.Namespace) -> Any:
    """``padstride summary``'s reading of ``--model`` and ``--input``."""
    from ..analysis import GraphError, SpecError, analyze
    from ..analysis.errors import ModelError

    shape = parse_ints(args.input, "--input") if args.input else None
    try:
        summary = analyze(args.model, shape)
    except (SpecError, ModelError, GraphError) as exc:
        raise CliError(str(exc)) from None
    return summary


def _model_rf(args: argparse.Namespace) -> tuple[Any, Any]:
    from ..viz.plots import model_rf_vs_depth
    from ..viz.receptive import as_dicts, model_fields

    summary = _summary(args)
    for error in summary.errors:  # the fields before the error are still drawn
        print(f"padstride plot: warning: {error}", file=sys.stderr)
    unit = _rf_unit(args.unit)
    fig = model_rf_vs_depth(summary, unit)
    nd = len(summary.layer(summary.graph.inputs[0]).spatial)
    names = ("D", "H", "W")[-nd:] if nd <= 3 else tuple(f"axis{i}" for i in range(nd))
    return fig, {"model": summary.graph.name, "errors": summary.errors,
                 "axes": {name: as_dicts(model_fields(summary, unit, i)) for i, name in enumerate(names)}}


def _erf(args: argparse.Namespace) -> tuple[Any, Any]:
    try:
        import torch
    except ImportError:
        raise CliError("'plot erf' needs PyTorch (pip install padstride[torch])") from None
    from ..viz.erf import draw_effective_field, effective_field

    if args.model:
        model, shape = _erf_model(args, torch)
    else:
        model, shape = _erf_stack(args, torch)
    unit = None
    if args.unit is not None and args.unit not in ("centre", "center"):
        unit = parse_ints(args.unit, "--unit")
        if len(unit) != 2:
            raise CliError(f"--unit for erf is R,C, got {args.unit!r}")
    erf = effective_field(model, shape, unit, layer=args.layer)  # PaddingError: exit 2, one line
    return draw_effective_field(erf), {"layer": erf.layer, "unit": list(erf.unit),
                                       "theoretical": [list(erf.field[0]), list(erf.field[1])],
                                       "gradient_extent": None if erf.extent is None else list(map(list, erf.extent))}


def _erf_model(args: argparse.Namespace, torch: Any) -> tuple[Any, tuple[int, ...]]:
    from ..analysis.errors import ModelError
    from ..analysis.load import load_object

    if not args.input:
        raise CliError("erf --model needs --input C,H,W")
    shape = parse_ints(args.input, "--input")
    if min(shape) < 1 or math.prod(shape[-2:]) > MAX_ERF_PIXELS or shape[0] > 4096:
        raise CliError(f"--input for erf --model must be C,H,W >= 1 with H·W <= {MAX_ERF_PIXELS:,} and "
                       f"C <= 4096, got {args.input!r}")
    try:
        model = load_object(args.model)
    except ModelError as exc:
        raise CliError(f"{exc} (erf needs a torch model)") from None
    if not isinstance(model, torch.nn.Module):
        raise CliError(f"{args.model}: erf needs a torch.nn.Module, got {type(model).__name__}")
    return model, shape


def _erf_stack(args: argparse.Namespace, torch: Any) -> tuple[Any, tuple[int, ...]]:
    from ..viz.receptive import parse_stack

    shape = parse_ints(args.input or "32,32", "--input")
    if len(shape) == 1:
        shape = shape * 2
    if len(shape) != 2:
        raise CliError(f"--input for erf is H,W, got {args.input!r}")
    if shape[0] * shape[1] > MAX_ERF_PIXELS or min(shape) < 1:
        raise CliError(f"--input for erf must be H,W >= 1 with H·W <= {MAX_ERF_PIXELS:,}, got {args.input!r}")
    torch.manual_seed(0)
    modules: list[Any] = []
    channels = 1
    padding = args.padding if args.padding in ("same", "valid") else parse_ints(args.padding, "--padding")[0]
    for layer in parse_stack(args.stack, "valid"):
        if layer.op == "conv":
            modules += [_erf_conv(channels, layer, padding), torch.nn.ReLU()]
            channels = 4
        else:
            modules.append(torch.nn.MaxPool2d(layer.kernel, layer.stride))
    return torch.nn.Sequential(*modules), shape


def _erf_conv(channels: int, layer: Layer, padding: str | int) -> Any:
    """A conv of the erf stack: PyTorch's own layer, or padstride's for TF SAME at stride > 1
    (pads from :mod:`padstride.geometry`, per input size)."""
    import torch

    if padding == "same" and layer.stride > 1:
        from ..torch import Conv2d

        return Conv2d(channels, 4, layer.kernel, layer.stride, padding="same", dilation=layer.dilation)
    return torch.nn.Conv2d(channels, 4, layer.kernel, layer.stride, padding, layer.dilation)


def _pairs(text: str) -> tuple[tuple[int, int], ...]:
    """``"1:2,0:1"`` → ``((1, 2), (0, 1))``; ints are symmetric; one value covers both axes."""
    from .explain import parse_padding

    spec = parse_padding(text, 2)
    items = spec if isinstance(spec, list) else [spec, spec]
    if len(items) != 2 or any(isinstance(p, str) for p in items):
        raise CliError(f"--pads expects before:after (or an int) for each of 2 axes, got {text!r}")
    return tuple((p, p) if isinstance(p, int) else (int(p[0]), int(p[1])) for p in items)  # type: ignore[index]
