"""What `padstride explain` is asked: one layer, in padstride's normalized form.

>>> r = LayerRequest.make("conv", (224, 225), 3, stride=2, padding="same")
>>> r.geometry().output
(112, 113)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..geometry import AnyGeometry, Padding, PaddingError, conv, conv_transpose, infer_ndim, per_axis, pool
from ..geometry.window import _padding_len

__all__ = ["OPS", "LayerRequest"]

OPS: tuple[str, ...] = ("conv", "maxpool", "avgpool", "convtranspose")

IntOrSeq = int | Sequence[int]


@dataclass(frozen=True)
class LayerRequest:
    """One conv/pool/transposed-conv layer with every argument given per spatial axis."""

    op: str
    input: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: Padding
    ceil_mode: bool = False
    output_padding: tuple[int, ...] | None = None
    count_include_pad: bool | None = None
    rule: str | None = None
    channels: tuple[int, int] = (3, 8)

    @classmethod
    def make(
        cls,
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
    ) -> LayerRequest:
        """Normalize scalars and per-axis values; pools default their stride to the kernel."""
        if op not in OPS:
            raise PaddingError(f"unknown op {op!r}; expected one of {', '.join(OPS)}")
        nd = infer_ndim(input, kernel, stride or 1, dilation, _padding_len(padding), output_padding or 0)
        ks = per_axis(kernel, nd, "kernel")
        default_stride = ks if op in ("maxpool", "avgpool") else (1,) * nd
        ss = default_stride if stride is None else per_axis(stride, nd, "stride")
        if op == "avgpool" and any(d != 1 for d in per_axis(dilation, nd, "dilation")):
            raise PaddingError("average pooling has no dilation")
        if op != "convtranspose" and output_padding is not None:
            raise PaddingError("output_padding applies only to convtranspose")
        if op not in ("maxpool", "avgpool") and ceil_mode:
            raise PaddingError("ceil_mode applies only to pooling")
        if op != "avgpool" and count_include_pad is not None:
            raise PaddingError("count_include_pad applies only to avgpool")
        ops = None if output_padding is None else per_axis(output_padding, nd, "output_padding")
        return cls(op, per_axis(input, nd, "input"), ks, ss, per_axis(dilation, nd, "dilation"),
                   Padding.parse(padding, nd), ceil_mode, ops, count_include_pad, rule, channels)

    @property
    def ndim(self) -> int:
        return len(self.input)

    @property
    def include_pad(self) -> bool:
        """Average-pool divisor rule: explicit pads count (PyTorch), conventions exclude (TF)."""
        if self.count_include_pad is not None:
            return self.count_include_pad
        return self.padding.convention == "explicit"

    def geometry(self) -> AnyGeometry:
        """The layer's geometry, from padstride.geometry."""
        if self.op == "conv":
            return conv(self.input, self.kernel, self.stride, self.padding, self.dilation)
        if self.op == "convtranspose":
            return conv_transpose(self.input, self.kernel, self.stride, self.padding,
                                  self.output_padding, self.dilation, rule=self.rule or "keras")
        return pool(self.input, self.kernel, self.stride, self.padding, self.dilation,
                    self.ceil_mode, rule=self.rule or "torch")
