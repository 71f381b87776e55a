"""The helper functions of seed 000 (manual SAME padding), under their own names.

They keep the seed's signatures and results; the arithmetic comes from
:func:`padstride.geometry.resolve_axis`, so they agree with every other part of padstride.

>>> feature_map_size(28, 7, strides=2)
14
>>> pad_before_and_padded_size(28, 7, strides=2)
(2, 33)
"""

from __future__ import annotations

from typing import Any

from .padding import resolve_axis
from .window import conv_axis

__all__ = ["feature_map_size", "manual_same_padding", "pad_before_and_padded_size"]


def feature_map_size(
    input_size: int, kernel_size: int, strides: int = 1, padding: str = "SAME"
) -> int:
    """Output size of a convolution: ``ceil(n/s)`` for SAME, ``floor((n−k)/s)+1`` otherwise.

    >>> feature_map_size(28, 3, padding="VALID")
    26
    """
    name = "same" if padding == "SAME" else "valid"
    return conv_axis(input_size, kernel_size, strides, name).output


def pad_before_and_padded_size(
    input_size: int, kernel_size: int, strides: int = 1
) -> tuple[int, int]:
    """TF SAME: pixels padded before (top/left) and the padded size.

    >>> pad_before_and_padded_size(5, 2)
    (0, 6)
    """
    before, after = resolve_axis(input_size, kernel_size, strides, 1, "same")
    return before, input_size + before + after


def manual_same_padding(images: Any, kernel_size: int, strides: int = 1) -> Any:
    """Zero-pad NHWC ``images`` so that a VALID convolution equals TF's SAME one (float32).

    >>> import numpy as np
    >>> manual_same_padding(np.ones((1, 5, 5, 1)), 3, 2).shape
    (1, 7, 7, 1)
    """
    import numpy as np

    images = np.asarray(images)
    if kernel_size == 1:
        return images.astype(np.float32)
    batch, height, width, channels = images.shape
    top, padded_height = pad_before_and_padded_size(height, kernel_size, strides)
    left, padded_width = pad_before_and_padded_size(width, kernel_size, strides)
    padded = np.zeros((batch, padded_height, padded_width, channels), dtype=np.float32)
    padded[:, top : top + height, left : left + width] = images
    return padded
