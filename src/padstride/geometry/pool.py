"""Pooling geometry: ``ceil_mode`` under each framework's rule, and average-pool divisors.

Rules for the last window in ``ceil_mode`` (all round the window count up first):

- ``torch``: drop a last window that would start in the right padding
  (``(out−1)·s ≥ n + pad_before``). PyTorch; onnxruntime (1.32 measured, at every opset 10–22).
- ``onnx``: the same as ``torch``. ONNX's own conformance cases
  (``onnx.backend.test.case.node``: ``test_maxpool_2d_ceil_output_size_reduce_by_one``,
  ``test_averagepool_2d_ceil_last_window_starts_on_pad``), its shape inference (onnx 1.16,
  onnx/onnx#5741), its reference implementation ``onnx.reference`` (onnx 1.18, onnx/onnx#6650)
  and the operator text from opset 22 all drop that window.
- ``caffe``: the same drop, but only when the layer has padding; without padding Caffe keeps a
  window that starts past the input (possible when kernel < stride).
- ``plain``: plain ``ceil``, no drop: the ONNX operator text of opsets 10–21 (which its own tests
  contradict), OpenVINO's ``rounding_type="ceil"`` (it added ``"ceil_torch"`` in opset 14 for
  PyTorch's rule) and WebNN's ``roundingType: "ceil"``.

>>> pool(5, 2, ceil_mode=True).output
(3,)
>>> pool(4, 1, stride=2, ceil_mode=True, rule="onnx").output, pool(4, 1, stride=2, ceil_mode=True, rule="plain").output
((2,), (3,))
"""

from __future__ import annotations

from collections.abc import Sequence

from .axes import infer_ndim, per_axis
from .errors import PaddingError
from .padding import Padding, check_window_args, effective_kernel, resolve_axis
from .window import AxisWindow, Geometry, _check_list, _padding_len, _spans

__all__ = ["CEIL_RULES", "avg_divisor", "avg_divisors", "full_divisors", "pool", "pool_axis", "pool_output_size"]

CEIL_RULES: tuple[str, ...] = ("torch", "onnx", "caffe", "plain")


def pool_output_size(
    n: int,
    span: int,
    stride: int,
    before: int,
    after: int,
    ceil_mode: bool = False,
    rule: str = "torch",
    axis: int = 0,
) -> int:
    """Output length of a pooling window along one axis.

    >>> pool_output_size(6, 3, 2, 0, 0, ceil_mode=True)
    3
    """
    if rule not in CEIL_RULES:
        raise PaddingError(f"unknown ceil_mode rule {rule!r}; expected one of {CEIL_RULES}")
    room = n + before + after - span
    if not ceil_mode:
        out = room // stride + 1 if room >= 0 else 0
    else:  # a last window may overhang the padded input by up to stride−1 cells
        out = -(-room // stride) + 1
        drop = rule in ("torch", "onnx") or (rule == "caffe" and (before or after))
        if drop and (out - 1) * stride >= n + before:
            out -= 1
    if out < 1:
        raise PaddingError(f"axis {axis}: {_spans(span)} > padded input {n + before + after}")
    return out


def pool_axis(
    n: int,
    kernel: int,
    stride: int | None = None,
    padding: object = "valid",
    dilation: int = 1,
    ceil_mode: bool = False,
    rule: str = "torch",
    axis: int = 0,
) -> AxisWindow:
    """Geometry of a pooling window along one axis (stride defaults to the kernel, as in PyTorch).

    >>> pool_axis(7, 2).output
    3
    >>> pool_axis(7, 2, ceil_mode=True).output
    4
    """
    s = kernel if stride is None else stride
    if rule not in CEIL_RULES:  # before the try below, which rewords window errors
        raise PaddingError(f"unknown ceil_mode rule {rule!r}; expected one of {CEIL_RULES}")
    spec = Padding.parse(padding, 1).axes[0]
    check_window_args(axis, kernel, s, dilation)
    before, after = resolve_axis(n, kernel, s, dilation, spec, axis)
    span = effective_kernel(kernel, dilation)
    try:
        out = pool_output_size(n, span, s, before, after, ceil_mode, rule, axis)
    except PaddingError:
        how = repr(spec) if isinstance(spec, str) else f"explicit {spec}"
        raise PaddingError(
            f"axis {axis}: {_spans(span, kernel, dilation)} > padded input "
            f"{n + before + after} under {how}"
        ) from None
    name = spec if isinstance(spec, str) else "explicit"
    return AxisWindow(n, kernel, s, dilation, before, after, out, name)


def pool(
    input: int | Sequence[int],
    kernel: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: object = "valid",
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
    rule: str = "torch",
) -> Geometry[AxisWindow]:
    """N-D pooling geometry.

    >>> pool((28, 28), 2).output
    (14, 14)
    >>> pool((6, 6), 3, 2, padding="same").pads
    ((0, 1), (0, 1))
    """
    nd = infer_ndim(input, kernel, stride or 1, dilation, _padding_len(padding))
    spec = Padding.parse(padding, nd)
    ns, ks = per_axis(input, nd, "input"), per_axis(kernel, nd, "kernel")
    ss = ks if stride is None else per_axis(stride, nd, "stride")
    ds = per_axis(dilation, nd, "dilation")
    axes = tuple(
        pool_axis(ns[i], ks[i], ss[i], (spec.axes[i],), ds[i], ceil_mode, rule, axis=i)
        for i in range(nd)
    )
    return Geometry("pool", axes)


def avg_divisors(window: AxisWindow, count_include_pad: bool) -> tuple[int, ...]:
    """Per output index, the taps an average-pooling window divides by along this axis.

    ``count_include_pad=True`` (PyTorch's default for explicit pads) counts taps on padded cells
    but not on the ``ceil_mode`` overhang past the right padding; ``False`` (TF/Keras SAME) counts
    only taps on real input cells. With dilation only the window's taps count (every
    ``dilation``-th cell: ONNX AveragePool from opset 19, TF's ``tf.nn.pool``). The N-D divisor is
    the product over axes.

    >>> avg_divisors(pool_axis(6, 3, 2, "same"), count_include_pad=False)
    (3, 3, 2)
    >>> avg_divisors(pool_axis(5, 2, 2, 1, ceil_mode=True), count_include_pad=True)
    (2, 2, 2)
    >>> avg_divisors(pool_axis(5, 2, 2, 1, dilation=2), count_include_pad=False)   # taps on real cells
    (1, 2, 1)
    """
    _check_list(window.output, "average-pool divisors")
    return tuple(avg_divisor(window, j, count_include_pad) for j in range(window.output))


def avg_divisor(window: AxisWindow, j: int, count_include_pad: bool) -> int:
    """The divisor of output ``j`` along this axis (see :func:`avg_divisors`), in O(1).

    >>> avg_divisor(pool_axis(10**15, 3, 2, "same"), 0, count_include_pad=False)
    3
    >>> avg_divisor(pool_axis(5, 2, 2, 1, dilation=2), 1, count_include_pad=False)
    2
    """
    lo_limit = 0 if not count_include_pad else -window.pad_before
    hi_limit = window.input if not count_include_pad else window.input + window.pad_after
    d, k = window.dilation, window.kernel
    start = window.start(j)  # taps start + t·d for t < k; count those in [lo_limit, hi_limit)
    first = max(0, -((start - lo_limit) // d))
    last = min(k - 1, (hi_limit - 1 - start) // d)
    return max(last - first + 1, 0)


def full_divisors(window: AxisWindow, count_include_pad: bool) -> bool:
    """True when every window divides by all its taps along this axis (O(1): the windows move
    one way, so taps lost on the left only shrink and taps lost on the right only grow with ``j``).

    >>> full_divisors(pool_axis(6, 3, 2, "same"), False), full_divisors(pool_axis(7, 3, 2), False)
    (False, True)
    """
    k = window.kernel
    return avg_divisor(window, 0, count_include_pad) == k and avg_divisor(
        window, window.output - 1, count_include_pad) == k
