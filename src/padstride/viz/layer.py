"""One layer by name (``conv``, ``maxpool``, ``avgpool``, ``convtranspose``) → its geometry.

Shared by the command line and the explorer so both name layers the same way.

>>> make_geometry("maxpool", (5, 5), 2, ceil_mode=True).output
(3, 3)
>>> make_geometry("convtranspose", 3, 3, 2, padding=1, output_padding=1).output
(6,)
"""

from __future__ import annotations

from typing import Any

from ..geometry import PaddingError, conv, conv_transpose, pool

__all__ = ["OPS", "make_geometry"]

OPS: tuple[str, ...] = ("conv", "maxpool", "avgpool", "convtranspose")


def make_geometry(
    op: str, input: Any, kernel: Any, stride: Any = None, padding: object = "valid",
    dilation: Any = 1, ceil_mode: bool = False, output_padding: Any = None,
) -> Any:
    """Geometry of one layer; ``stride=None`` means 1 for convolutions and the kernel for pooling."""
    if op == "conv":
        return conv(input, kernel, 1 if stride is None else stride, padding, dilation)
    if op in ("maxpool", "avgpool"):
        return pool(input, kernel, stride, padding, dilation, ceil_mode)
    if op == "convtranspose":
        return conv_transpose(input, kernel, 1 if stride is None else stride, padding, output_padding, dilation)
    raise PaddingError(f"op must be one of {', '.join(OPS)}, got {op!r}")
