"""Plain-text rendering of an :class:`~padstride.explain.explanation.Explanation`.

>>> from padstride.explain import explain
>>> print(render(explain("conv", 7, 3, stride=2)).splitlines()[0])
conv 1-D  input (7,) → output (3,)   kernel 3  stride 2  dilation 1  padding 'valid'
"""

from __future__ import annotations

from typing import Any

from ..geometry import AxisBase, AxisWindow
from .explanation import Explanation
from .strip import LEGEND, draw_axis

__all__ = ["render"]


def _fmt(values: tuple[int, ...] | list[int]) -> str:
    return "(" + ", ".join(map(str, values)) + ("," if len(values) == 1 else "") + ")"


def _dropped(axis: AxisBase) -> str:
    """Never-read input pixels (inputs cropped away, transposed): all of a few, else the count and
    both ends."""
    return str(axis.dropped_sample(4))


def _divisors(row: dict[str, Any]) -> str:
    values, last = row["divisors"], row.get("divisors_last", [])
    return str(values) if not last else f"{row['divisors_count']:,} windows: {str(values)[:-1]}, …, {str(last)[1:]}"


def render(expl: Explanation) -> str:
    """Per axis sizes, pads, dropped pixels and a drawing; then each framework's code and notes."""
    req, g = expl.request, expl.geometry
    params = [f"kernel {_fmt(req.kernel) if len(set(req.kernel)) > 1 else req.kernel[0]}",
              f"stride {_fmt(req.stride) if len(set(req.stride)) > 1 else req.stride[0]}",
              f"dilation {_fmt(req.dilation) if len(set(req.dilation)) > 1 else req.dilation[0]}",
              f"padding {req.padding.convention!r}"]
    if req.ceil_mode:
        params.append("ceil_mode")
    if req.op == "avgpool":
        params.append(f"count_include_pad={req.include_pad}")
    lines = [f"{req.op} {req.ndim}-D  input {_fmt(req.input)} → output {_fmt(g.output)}   " + "  ".join(params)]
    lines.append("")
    for i, (axis, row) in enumerate(zip(g.axes, expl.axis_dicts())):
        pads = f"pads {row['pad_before']} before, {row['pad_after']} after"
        if req.op == "convtranspose":
            pads = f"crop {row['pad_before']} before, {row['pad_after']} after (full {row['full']})"
        lines.append(f"axis {i}: {row['input']} → {row['output']}   {pads}   never read: {_dropped(axis)}")
        if "divisors" in row:
            lines.append(f"        divisors: {_divisors(row)}")
        if isinstance(axis, AxisWindow):
            lines.extend("        " + line for line in draw_axis(axis).splitlines())
    if req.op != "convtranspose":
        lines.append(f"        ({LEGEND})")
    lines.append("")
    for name, code in expl.frameworks.items():
        title = {"pytorch": "PyTorch", "keras": "Keras", "onnx": "ONNX", "jax": "JAX"}[name]
        flag = "" if code.exact else "   (not exact, see note)"
        lines.append(f"{title}:{flag}")
        lines.append(f"    {code.code}" if code.code else "    (cannot be expressed)")
        lines.extend(f"    note: {note}" for note in code.notes)
    return "\n".join(lines)
