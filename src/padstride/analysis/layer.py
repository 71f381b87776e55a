"""What the propagation pass knows about one layer: :class:`LayerInfo`.

>>> info = LayerInfo("conv", "Conv2d", "conv", (), shape=(8, 26, 26))
>>> info.non_trainable, info.ok
(0, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from ..geometry import AnyGeometry
from .rf import AxisRF

__all__ = ["LayerInfo", "axis_names"]


def axis_names(ndim: int) -> tuple[str, ...]:
    """Names of the spatial axes in messages.

    >>> axis_names(2), axis_names(3)
    (('H', 'W'), ('D', 'H', 'W'))
    """
    return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(ndim, tuple(f"axis{i}" for i in range(ndim)))


@dataclass
class LayerInfo:
    """Per layer: canonical output shape, pads, params, MACs, memory, receptive field, findings.

    ``shape`` is per sample, channels first (``None`` after an upstream error). ``pads`` is per
    spatial axis ``(before, after)``: pads for windows and pad layers, the crop of the full output
    for transposed convolutions. ``rf`` is per axis of the model input.
    """

    name: str
    type: str
    op: str
    inputs: tuple[str, ...]
    shape: tuple[int, ...] | None = None
    pads: tuple[tuple[int, int], ...] | None = None
    params: int = 0
    trainable: int = 0
    macs: int = 0
    bytes: int = 0
    rf: tuple[AxisRF, ...] | None = None
    rf_global: bool = False
    misalignment: tuple[Fraction, ...] | None = None
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    geometry: AnyGeometry | None = None
    factors: tuple[int, ...] | None = None

    @property
    def non_trainable(self) -> int:
        return self.params - self.trainable

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def spatial(self) -> tuple[int, ...]:
        """Spatial sizes of the output (empty for vectors)."""
        return self.shape[1:] if self.shape is not None and len(self.shape) > 1 else ()
