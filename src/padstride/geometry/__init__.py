"""padstride.geometry — the exact arithmetic of padding and stride, pure Python.

>>> from padstride.geometry import conv
>>> conv((224, 225), 3, stride=2, padding="same").pads
((0, 1), (1, 1))

This package imports nothing outside the standard library; it is the single source of truth for
output sizes and per-side pads in padstride.
"""

from .axes import infer_ndim, per_axis
from .coverage import LIST_LIMIT, SAMPLE, IndexSample
from .errors import PaddingError
from .inverse import (
    Layer,
    evenly_divisible_sizes,
    input_sizes_for_output,
    pads_for_output,
    stack_output,
)
from .padding import CONVENTIONS, Padding, centre_crop, effective_kernel, normalize_convention, resolve_axis
from .pool import CEIL_RULES, avg_divisor, avg_divisors, full_divisors, pool, pool_axis, pool_output_size
from .seed import feature_map_size, manual_same_padding, pad_before_and_padded_size
from .transpose import (
    TRANSPOSE_RULES,
    AnyGeometry,
    AxisTranspose,
    conv_transpose,
    conv_transpose_axis,
    is_transposed,
    legal_output_padding,
)
from .window import AxisBase, AxisWindow, Geometry, conv, conv_axis

__all__ = [
    "CEIL_RULES",
    "CONVENTIONS",
    "LIST_LIMIT",
    "SAMPLE",
    "TRANSPOSE_RULES",
    "AnyGeometry",
    "AxisBase",
    "AxisTranspose",
    "AxisWindow",
    "Geometry",
    "IndexSample",
    "Layer",
    "Padding",
    "PaddingError",
    "avg_divisor",
    "avg_divisors",
    "centre_crop",
    "conv",
    "conv_axis",
    "conv_transpose",
    "conv_transpose_axis",
    "effective_kernel",
    "evenly_divisible_sizes",
    "feature_map_size",
    "full_divisors",
    "infer_ndim",
    "input_sizes_for_output",
    "is_transposed",
    "legal_output_padding",
    "manual_same_padding",
    "normalize_convention",
    "pad_before_and_padded_size",
    "pads_for_output",
    "per_axis",
    "pool",
    "pool_axis",
    "pool_output_size",
    "resolve_axis",
    "stack_output",
]
