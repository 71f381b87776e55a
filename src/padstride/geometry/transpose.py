"""Transposed convolution geometry under PyTorch/ONNX explicit pads, Keras and ONNX ``auto_pad``.

Rules for the named conventions and ``output_size`` (see ``docs/conventions.md``):

- ``keras``: TF's rule. Output length as Keras computes it; the crop placed as the gradient of a
  TF SAME convolution of that length.
- ``keras_torch``: what Keras 3 (3.15) computes on its torch (and JAX) backend: JAX's
  ``conv_transpose`` window. Differs from ``keras`` only where TF itself refuses
  (``same``, even span, ``output_padding=0``).
- ``onnx``: the ONNX operator text: SAME_* gives ``n·s``; ``output_shape`` sets the length and
  SAME_UPPER puts the smaller half of the crop first, everything else the larger half; an
  ``output_shape`` past the full output without SAME_* is reached by zeros at the end (ONNX's
  conformance case ``test_convtranspose_output_shape``).
- ``onnxruntime``: what onnxruntime (1.32) computes: as ``onnx``, but the total crop is clamped at
  0, so SAME_* gives ``min(n·s, (n−1)·s + K + output_padding)`` and an ``output_shape`` past the
  full output is reached by zeros at the end; ``output_padding`` must be < stride.

Every case is stored the same way: the full output ``(n−1)·s + K`` cropped by ``pad_before`` at
the start and ``pad_after`` at the end (negative = extended with zeros, which is what PyTorch's
``output_padding`` does past the full output).

>>> conv_transpose(4, 3, stride=2, padding=1, output_padding=1).output
(8,)
>>> conv_transpose(4, 3, stride=2, padding="same").pads   # Keras/TF: n·s, odd crop at the end
((0, 1),)
>>> conv_transpose(4, 3, stride=2, padding="valid").output
(9,)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .axes import infer_ndim, per_axis
from .coverage import LIST_LIMIT, SAMPLE, IndexSample, sample_runs
from .errors import PaddingError
from .padding import Padding, check_window_args, effective_kernel, resolve_axis
from .window import AxisBase, AxisWindow, Geometry, _check_list, _padding_len

if TYPE_CHECKING:
    from typing_extensions import TypeIs

__all__ = [
    "TRANSPOSE_RULES",
    "AnyGeometry",
    "AxisTranspose",
    "conv_transpose",
    "conv_transpose_axis",
    "is_transposed",
    "legal_output_padding",
]

TRANSPOSE_RULES: tuple[str, ...] = ("keras", "keras_torch", "onnx", "onnxruntime")


def legal_output_padding(stride: int, dilation: int = 1) -> range:
    """``output_padding`` values PyTorch accepts: ``0 ≤ op < max(stride, dilation)``.

    >>> list(legal_output_padding(2))
    [0, 1]
    """
    return range(max(stride, dilation))


@dataclass(frozen=True)
class AxisTranspose(AxisBase):
    """One axis of a transposed convolution; pads are crops of the full output.

    Input ``i`` writes output indices ``i·stride − pad_before + t·dilation`` for ``t < kernel``.
    """

    @property
    def full(self) -> int:
        """Length before any crop: ``(n−1)·s + K``."""
        return (self.input - 1) * self.stride + self.span

    @property
    def pads(self) -> tuple[int, int]:
        return (self.pad_before, self.pad_after)

    @property
    def symmetric(self) -> bool:
        return self.pad_before == self.pad_after

    @property
    def torch_args(self) -> tuple[int, int] | None:
        """``(padding, output_padding)`` for ``nn.ConvTranspose`` or None when it cannot express it."""
        op = self.pad_before - self.pad_after
        if self.pad_before < 0 or op not in legal_output_padding(self.stride, self.dilation):
            return None
        return (self.pad_before, op)

    def conv_pads(self) -> tuple[int, int]:
        """Pads of the equivalent stride-1 convolution over the zero-stuffed input (flipped kernel)."""
        return (self.span - 1 - self.pad_before, self.span - 1 - self.pad_after)

    def targets(self, i: int) -> tuple[int, ...]:
        """Output indices written by input ``i`` (outside ``[0, output)`` = cropped)."""
        return self._hits(i)

    def write_counts(self) -> tuple[int, ...]:
        """How many input taps land on each output index (uneven = checkerboard); refused past
        :data:`~.coverage.LIST_LIMIT` outputs (see :meth:`write_count`)."""
        return self._hit_counts(self.input, self.output)

    def write_count(self, o: int) -> int:
        """How many input taps land on output index ``o``, in O(log) for any length.

        >>> t = conv_transpose_axis(10**15, 3, 2, padding=1, output_padding=1)
        >>> t.write_count(4), t.write_count(5)
        (1, 2)
        """
        return self._coverage(self.input).multiplicity(o)

    @property
    def dropped(self) -> tuple[int, ...]:
        """Input indices whose every contribution is cropped away (refused past
        :data:`~.coverage.LIST_LIMIT` of them)."""
        kept = self._coverage(self.input).sources_with_hits(0, self.output - 1)
        if isinstance(kept, tuple):
            _check_list(self.input - (kept[1] - kept[0]), "dropped inputs")
            return (*range(min(kept[0], self.input)), *range(kept[1], self.input))
        _check_list(self.input, "dropped inputs")
        return tuple(
            i for i in range(self.input)
            if not any(0 <= o < self.output for o in self.targets(i))
        )

    def dropped_sample(self, limit: int = SAMPLE) -> IndexSample:
        """The dropped inputs as a count plus the first and last ``limit`` of them.

        >>> str(conv_transpose_axis(10**12, 1, 1, padding=(5, 10**6)).dropped_sample(2))
        '1,000,005 pixels: 0, 1, …, 999999999998, 999999999999'
        """
        n = self.input
        kept = self._coverage(n).sources_with_hits(0, self.output - 1)
        if not isinstance(kept, tuple):  # an output shorter than the dilation: irregular
            if n > LIST_LIMIT:
                return IndexSample(n - kept, ())  # the count alone
            dropped = self.dropped
            count = len(dropped)
            head = dropped[:limit]
            return IndexSample(count, head, dropped[len(head):][-limit:] if count > len(head) else ())
        return sample_runs((range(min(kept[0], n)), range(kept[1], n)), limit)

    @property
    def dropped_count(self) -> int:
        """How many inputs have every contribution cropped away.

        >>> conv_transpose_axis(10**12, 1, 1, padding=(5, 0)).dropped_count
        5
        """
        kept = self._coverage(self.input).sources_with_hits(0, self.output - 1)
        return self.input - (kept[1] - kept[0] if isinstance(kept, tuple) else kept)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; inputs cropped away as ``dropped`` (the first ``SAMPLE``),
        ``dropped_last`` (the last ones not in ``dropped``) and ``dropped_count``."""
        out = asdict(self)
        args = self.torch_args
        sample = self.dropped_sample()
        out.update(span=self.span, full=self.full, dropped=list(sample.head), dropped_last=list(sample.tail),
                   dropped_count=sample.count,
                   torch_padding=None if args is None else args[0],
                   torch_output_padding=None if args is None else args[1])
        return out


def _keras_length(n: int, span: int, stride: int, name: str, output_padding: int | None) -> int:
    """Keras' ``compute_conv_transpose_output_length``."""
    if output_padding is None:
        return n * stride + (max(span - stride, 0) if name == "valid" else 0)
    pad = span // 2 if name == "same" else 0
    return (n - 1) * stride + span - 2 * pad + output_padding


def _c_div2(total: int) -> int:
    """Integer halving that truncates toward zero, as C++ (onnxruntime) does."""
    return int(total / 2)


def conv_transpose_axis(
    n: int,
    kernel: int,
    stride: int = 1,
    padding: object = 0,
    output_padding: int | None = None,
    dilation: int = 1,
    rule: str = "keras",
    output_size: int | None = None,
    axis: int = 0,
) -> AxisTranspose:
    """Geometry of a transposed convolution along one axis.

    Explicit pads follow PyTorch/ONNX (crop ``before``/``after``, then ``output_padding`` at the
    end). With ``output_size`` they follow PyTorch's ``forward(output_size=...)``: the difference
    becomes the output padding (< stride; a given ``output_padding`` is ignored); under the ONNX
    rules, ONNX's ``output_shape`` (pads recomputed). Named conventions follow ``rule`` (see the
    module docstring): ``keras``, ``keras_torch``, ``onnx`` or ``onnxruntime``. ``output_size``
    fixes the length, as TF's ``output_shape`` or ONNX's ``output_shape`` do.

    >>> conv_transpose_axis(5, 4, 2, padding="same").pads
    (1, 1)
    >>> conv_transpose_axis(3, 3, 2, padding=(0, 1), output_padding=0).output
    6
    >>> conv_transpose_axis(2, 1, 3, padding="same", rule="onnxruntime").output
    4
    """
    check_window_args(axis, kernel, stride, dilation)
    if n < 1:
        raise PaddingError(f"axis {axis}: input size must be >= 1, got {n}")
    if rule not in TRANSPOSE_RULES:
        raise PaddingError(f"unknown transposed-conv rule {rule!r}; expected one of {TRANSPOSE_RULES}")
    legal = range(stride) if rule == "onnxruntime" else legal_output_padding(stride, dilation)
    if output_padding is not None and output_padding not in legal:
        bound = (f"stride {stride} (onnxruntime)" if rule == "onnxruntime" else
                 f"max(stride {stride}, dilation {dilation}) = {max(stride, dilation)}")
        raise PaddingError(
            f"axis {axis}: output_padding {output_padding} must be >= 0 and smaller than {bound}"
        )
    if output_size is not None and output_size < 1:
        raise PaddingError(f"axis {axis}: output_size must be >= 1, got {output_size}")
    spec = Padding.parse(padding, 1).axes[0]
    span = effective_kernel(kernel, dilation)
    full = (n - 1) * stride + span
    op = output_padding or 0
    onnx_rule = rule in ("onnx", "onnxruntime")
    if not isinstance(spec, str) and not (onnx_rule and output_size is not None):
        before, after = spec
        if output_size is not None:  # PyTorch forward(output_size=...) replaces output_padding
            op = output_size - (full - before - after)
            if op not in range(stride):
                low = full - before - after
                raise PaddingError(
                    f"axis {axis}: output_size {output_size} is outside {low}..{low + stride - 1}, "
                    f"the sizes PyTorch reaches with output_padding 0..{stride - 1}"
                )
        after -= op
        name = "explicit"
    elif isinstance(spec, str) and spec not in ("valid", "same", "same_lower"):
        raise PaddingError(
            f"axis {axis}: transposed convolution takes 'valid', 'same', 'same_lower' or explicit "
            f"pads, got {spec!r}"
        )
    elif onnx_rule:
        name = spec if isinstance(spec, str) else "explicit"
        before, after = _onnx_crop(n, span, stride, name, op, output_size, rule == "onnxruntime",
                                   axis)
    else:
        assert isinstance(spec, str)
        if spec == "same_lower":
            raise PaddingError(f"axis {axis}: Keras has no 'same_lower' transposed convolution")
        length = output_size if output_size is not None else _keras_length(
            n, span, stride, spec, output_padding)
        if rule == "keras_torch" and output_size is None:
            before = _keras_torch_crop(span, stride, spec, output_padding)
        elif spec == "same" and length >= 1:
            before = resolve_axis(length, kernel, stride, dilation, "same", axis)[0]
        else:
            before = 0
        after = full - length - before
        name = spec
    out = full - before - after
    if out < 1:
        raise PaddingError(
            f"axis {axis}: transposed output {out} < 1 (full length {full}, crop {(before, after)})"
        )
    return AxisTranspose(n, kernel, stride, dilation, before, after, out, name)


def _onnx_crop(n: int, span: int, stride: int, name: str, op: int, output_size: int | None,
               clamp: bool, axis: int) -> tuple[int, int]:
    """``(before, after)`` crop of the full output under ONNX ``auto_pad``/``output_shape``."""
    full = (n - 1) * stride + span
    if output_size is None and name in ("valid", "explicit"):
        return (0, -op)
    length = output_size if output_size is not None else n * stride
    total = full + op - length
    if clamp:  # onnxruntime never extends: the crop is at least 0
        total = max(total, 0)
        if output_size is None:
            length = full + op - total
        elif (output_size + total - span) // stride + 1 != n:
            raise PaddingError(
                f"axis {axis}: onnxruntime rejects output_shape {output_size}: a convolution of it "
                f"gives {(output_size + total - span) // stride + 1} positions, not the input {n}"
            )
    if total < 0 and name not in ("same", "same_lower"):
        # an output_shape past the full output: zeros at the end, as ONNX's own conformance case
        # (test_convtranspose_output_shape) and onnxruntime have it; the text's split would put
        # the odd zero first
        return (0, full - length)
    small = _c_div2(total)
    before = small if name == "same" else total - small
    return (before, full - length - before)


def _keras_torch_crop(span: int, stride: int, name: str, output_padding: int | None) -> int:
    """Start crop of Keras 3 on torch: JAX's ``conv_transpose`` window (``backend_utils``)."""
    if name == "valid":
        return 0
    # total pad of the stride-1 conv: n·s without output_padding, else (n−1)·s + K%2 + op
    pad_len = stride + span - 2 if output_padding is None else span + span % 2 - 2 + output_padding
    left = min(pad_len // 2 + pad_len % 2, span - 1)
    return span - 1 - left


def conv_transpose(
    input: int | Sequence[int],
    kernel: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: object = 0,
    output_padding: int | Sequence[int] | None = None,
    dilation: int | Sequence[int] = 1,
    rule: str = "keras",
    output_size: int | Sequence[int] | None = None,
) -> Geometry[AxisTranspose]:
    """N-D transposed convolution geometry (see :func:`conv_transpose_axis`).

    >>> conv_transpose((7, 8), 2, stride=2).output
    (14, 16)
    """
    nd = infer_ndim(input, kernel, stride, dilation, _padding_len(padding),
                    output_padding or 0, output_size or 0)
    spec = Padding.parse(padding, nd)
    ns, ks = per_axis(input, nd, "input"), per_axis(kernel, nd, "kernel")
    ss, ds = per_axis(stride, nd, "stride"), per_axis(dilation, nd, "dilation")
    ops = (None,) * nd if output_padding is None else per_axis(output_padding, nd, "output_padding")
    sizes = (None,) * nd if output_size is None else per_axis(output_size, nd, "output_size")
    axes = tuple(
        conv_transpose_axis(ns[i], ks[i], ss[i], (spec.axes[i],), ops[i], ds[i], rule, sizes[i], i)
        for i in range(nd)
    )
    return Geometry("convtranspose", axes)


#: A geometry of either kind: what code that takes a conv, pool or transposed conv annotates.
AnyGeometry = Geometry[AxisWindow] | Geometry[AxisTranspose]


def is_transposed(g: AnyGeometry) -> TypeIs[Geometry[AxisTranspose]]:
    """Whether ``g`` is a transposed convolution's (else its axes are :class:`AxisWindow`).

    >>> from padstride.geometry import conv
    >>> is_transposed(conv_transpose(4, 3, stride=2)), is_transposed(conv(4, 3))
    (True, False)
    """
    return bool(g.axes) and isinstance(g.axes[0], AxisTranspose)
