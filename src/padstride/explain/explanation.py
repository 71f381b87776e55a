"""Everything `padstride explain` says about one layer, as data.

>>> e = explain("conv", (224, 225), 3, stride=2, padding="same")
>>> [(a["output"], a["pad_before"], a["pad_after"]) for a in e.to_dict()["axes"]]
[(112, 0, 1), (113, 1, 1)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..geometry import SAMPLE, AnyGeometry, AxisWindow, avg_divisor, is_transposed
from .request import IntOrSeq, LayerRequest
from .snippets import FrameworkCode, all_frameworks

__all__ = ["Explanation", "explain"]


@dataclass
class Explanation:
    """A layer request, its geometry and the same layer in each framework."""

    request: LayerRequest
    geometry: AnyGeometry
    frameworks: dict[str, FrameworkCode]

    def axis_dicts(self) -> list[dict[str, Any]]:
        """Per axis: sizes, pads, never-read input indices (and avg-pool divisors).

        Lists are bounded: ``dropped`` holds the first :data:`~padstride.geometry.SAMPLE` never-read
        indices (``dropped_last`` the last ones, ``dropped_count`` all); ``divisors`` all of them up
        to ``2·SAMPLE`` windows, else the first ``SAMPLE`` with ``divisors_last`` and
        ``divisors_count``.
        """
        req, g = self.request, self.geometry
        if is_transposed(g) or req.op != "avgpool":
            return [axis.to_dict() for axis in g.axes]
        return [axis.to_dict() | _divisors(axis, req.include_pad) for axis in g.axes]

    @property
    def notes(self) -> list[str]:
        """Framework notes, each prefixed by the framework's name, without repeats."""
        seen: dict[str, None] = {}
        for name, code in self.frameworks.items():
            for note in code.notes:
                seen.setdefault(f"{name}: {note}")
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        req = self.request
        return {
            "op": req.op,
            "convention": req.padding.convention,
            "input": list(req.input),
            "kernel": list(req.kernel),
            "stride": list(req.stride),
            "dilation": list(req.dilation),
            "output": list(self.geometry.output),
            "ceil_mode": req.ceil_mode,
            "count_include_pad": req.include_pad if req.op == "avgpool" else None,
            "axes": self.axis_dicts(),
            "frameworks": {k: v.to_dict() for k, v in self.frameworks.items()},
        }


def _divisors(axis: AxisWindow, include_pad: bool) -> dict[str, Any]:
    n = axis.output
    if n <= 2 * SAMPLE:
        return {"divisors": [avg_divisor(axis, j, include_pad) for j in range(n)]}
    return {"divisors": [avg_divisor(axis, j, include_pad) for j in range(SAMPLE)],
            "divisors_last": [avg_divisor(axis, j, include_pad) for j in range(n - SAMPLE, n)],
            "divisors_count": n}


def explain(
    op: str,
    input: IntOrSeq,
    kernel: IntOrSeq,
    stride: IntOrSeq | None = None,
    padding: object = "valid",
    dilation: IntOrSeq = 1,
    ceil_mode: bool = False,
    output_padding: IntOrSeq | None = None,
    count_include_pad: bool | None = None,
    rule: str | None = None,
    channels: tuple[int, int] = (3, 8),
) -> Explanation:
    """Explain one conv / maxpool / avgpool / convtranspose layer (see :class:`LayerRequest`)."""
    req = LayerRequest.make(op, input, kernel, stride, padding, dilation, ceil_mode, output_padding,
                            count_include_pad, rule, channels)
    return Explanation(req, req.geometry(), all_frameworks(req))
