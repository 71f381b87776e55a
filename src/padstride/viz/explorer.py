"""The explorer's JSON: every number the web page shows, computed by :mod:`padstride.geometry`.

>>> p = geometry_payload({"op": "conv", "input": "6,6", "kernel": "3", "stride": "2", "padding": "same"})
>>> p["output"], p["pads"]
([3, 3], [[0, 1], [0, 1]])
>>> geometry_payload({"op": "conv", "input": "2", "kernel": "5"})["error"]
"axis 0: kernel 5 spans 5 > padded input 2 under 'valid'"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, overload

from ..errors import Error
from ..geometry import PaddingError
from .scene import scene

__all__ = ["MAX_AXES", "MAX_CELLS", "MAX_VALUE", "LimitError", "geometry_payload", "parse_query_padding"]

#: Largest grid (cells per axis) the page draws; beyond it the JSON has numbers but no scene.
MAX_CELLS = 96
#: Largest size, kernel, stride, dilation or pad the API takes (the geometry answers any of them
#: in O(1); the bound keeps numbers and JSON small).
MAX_VALUE = 10**18
#: Spatial axes the API takes, at most.
MAX_AXES = 8
#: Characters of one query value read, at most.
MAX_TEXT = 512


class LimitError(Error):
    """A request past the API's limits (answered 413)."""


@overload
def _ints(text: str | None, name: str, nd: int | None, default: int) -> tuple[int, ...]: ...
@overload
def _ints(text: str | None, name: str, nd: int | None = None, default: None = None) -> tuple[int, ...] | None: ...
def _ints(text: str | None, name: str, nd: int | None = None, default: int | None = None) -> tuple[int, ...] | None:
    if text is None or text.strip() == "":
        if default is None:
            return None
        return (default,) * (nd or 1)
    if len(text) > MAX_TEXT or text.count(",") >= MAX_AXES:
        raise LimitError(f"{name} takes at most {MAX_AXES} values of at most 19 digits")
    parts = [v.strip() for v in text.split(",")]
    if not all(p.lstrip("+-").isdigit() and p.isascii() for p in parts):
        raise PaddingError(f"{name} expects integers separated by commas, got {text[:60]!r}")
    if any(len(p.lstrip("+-")) > 19 for p in parts):
        raise LimitError(f"{name} values must be at most 10^18 in size, got {text[:60]!r}")
    values = tuple(int(p) for p in parts)
    if any(abs(v) > MAX_VALUE for v in values):
        raise LimitError(f"{name} values must be at most 10^18 in size, got {text[:60]!r}")
    if nd is not None and len(values) == 1:
        values = values * nd
    if nd is not None and len(values) != nd:
        raise PaddingError(f"{name} has {len(values)} values for {nd} axes")
    return values


def parse_query_padding(text: str, nd: int) -> object:
    """``same`` | ``1`` | per axis ``same,1:2`` (``b:a`` = before:after) → a geometry padding spec.

    >>> parse_query_padding("1:2,same", 2)
    ((1, 2), 'same')
    """
    if len(text or "") > MAX_TEXT:
        raise LimitError(f"padding is longer than {MAX_TEXT} characters")
    parts = [p.strip() for p in (text or "valid").split(",")]
    if len(parts) == 1:
        parts *= nd
    if len(parts) != nd:
        raise PaddingError(f"padding has {len(parts)} entries for {nd} axes: {text!r}")
    out: list[object] = []
    for part in parts:
        if ":" in part:
            before, after = _ints(part.replace(":", ","), "padding", 2) or (0, 0)
            out.append((before, after))
        elif part.lstrip("-").isdigit():
            value = (_ints(part, "padding") or (0,))[0]
            out.append((value, value))
        else:
            out.append(part)
    return tuple(out)


def _snippets(req: Any) -> dict[str, dict[str, Any]]:
    """PyTorch, Keras, ONNX and JAX code for the layer (``padstride.explain``), with notes."""
    from ..explain.snippets import all_frameworks

    try:
        return {name: code.to_dict() for name, code in all_frameworks(req).items()}
    except PaddingError:  # a framework that cannot express the layer must not hide the numbers
        return {}


def geometry_payload(query: Mapping[str, str]) -> dict[str, Any]:
    """Answer to ``/api/geometry?op=…&input=…&kernel=…&stride=…&dilation=…&padding=…``.

    Also ``ceil_mode=1`` (pooling) and ``output_padding`` (transposed). Errors come back as
    ``{"error": message, "status": 400}`` (413 for a request past the limits: values above
    10^18, more than 8 axes). Any size up to 10^18 is answered in O(axes).

    >>> geometry_payload({"input": "1000000000000", "kernel": "3", "stride": "2"})["output"]
    [499999999999]
    >>> geometry_payload({"input": "1" * 30})["status"]
    413
    """
    from ..explain.request import LayerRequest

    try:
        op = query.get("op", "conv")
        n = _ints(query.get("input"), "input", default=None)
        if n is None:
            raise PaddingError("input is required")
        nd = len(n)
        kernel = _ints(query.get("kernel"), "kernel", nd, 3)
        stride = _ints(query.get("stride"), "stride", nd, None)
        dilation = _ints(query.get("dilation"), "dilation", nd, 1)
        out_pad = _ints(query.get("output_padding"), "output_padding", nd, None)
        padding = parse_query_padding(query.get("padding", "valid"), nd)
        ceil = query.get("ceil_mode", "0").lower() in ("1", "true", "on", "yes")
        req = LayerRequest.make(op, n, kernel, stride, padding, dilation, ceil, out_pad)
        g = req.geometry()
        sc = scene(g)
    except LimitError as exc:
        return {"error": str(exc), "status": 413}
    except (Error, ValueError, OverflowError) as exc:
        return {"error": str(exc)[:300], "status": 400}
    drawable = max(sc.shape) <= MAX_CELLS and max(g.output) <= MAX_CELLS
    return {
        "op": op,
        "input": list(g.input),
        "output": list(g.output),
        "pads": [list(p) for p in g.pads],
        "geometry": g.to_dict(),
        "scene": sc.to_dict() if drawable else None,
        "snippets": _snippets(req),
    }
