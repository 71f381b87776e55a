"""Seed 001's functions, ``add_padding`` (slide 1) and ``convolution2d`` (slide 2), kept exact.

>>> import numpy as np
>>> add_padding(np.ones((2, 2), int), 1).tolist()
[[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
>>> convolution2d(np.ones((6, 6)), np.ones((4, 4)), padding="same").shape  # not 'same'!
(5, 5)
"""

from __future__ import annotations

import numpy as np

from ..geometry import PaddingError
from .convolution import conv
from .padding import pad

__all__ = ["add_padding", "convolution2d"]


def add_padding(image: object, pad_width: object) -> np.ndarray:
    """``np.pad(image, pad_width, mode='constant', constant_values=0)``, as the seed defines it.

    ``pad_width`` is NumPy's: an int, a ``(before, after)`` pair, or one pair per axis; every
    axis of ``image`` is padded.

    >>> import numpy as np
    >>> add_padding(np.arange(3), (1, 2)).tolist()
    [0, 0, 1, 2, 0, 0]
    """
    arr = np.asarray(image)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (arr.ndim, 2))
    if (widths < 0).any():
        raise PaddingError(f"add_padding takes non-negative widths (np.pad's rule), got {pad_width!r}")
    return pad(arr, [tuple(int(v) for v in row) for row in widths], axes=range(arr.ndim))


def convolution2d(image: object, kernel: object, padding: str = "valid") -> np.ndarray:
    """The seed's 2-D cross-correlation of one image with one kernel; the result is float64.

    ``padding='same'`` pads ``(k−1)//2`` on *both* sides of each axis, exactly as the seed does:
    that keeps the size only for odd kernels; an even kernel loses one pixel per axis (6×6 with a
    4×4 kernel gives 5×5). padstride's own ``same`` (``engine.conv(..., padding="same")``, TF's
    rule) pads ``k−1`` in total with the odd pixel after, so the output is always ``ceil(n/s)``.
    ``'valid'`` pads nothing; the seed treats any other string as valid, padstride raises.

    >>> import numpy as np
    >>> convolution2d(np.arange(9).reshape(3, 3), np.ones((3, 3)), padding="same")
    array([[ 8., 15., 12.],
           [21., 36., 27.],
           [20., 33., 24.]])
    """
    img = np.asarray(image)
    ker = np.asarray(kernel)
    if img.ndim != 2 or ker.ndim != 2:
        raise PaddingError(f"convolution2d takes a 2-D image and a 2-D kernel, got {img.shape} and {ker.shape}")
    if padding == "same":
        pads = [((k - 1) // 2, (k - 1) // 2) for k in ker.shape]
    elif padding == "valid":
        pads = [(0, 0), (0, 0)]
    else:
        raise PaddingError(f"convolution2d takes padding 'valid' or 'same' (the seed's names), got {padding!r}")
    out = conv(img[None, None].astype(np.float64), ker[None, None].astype(np.float64), padding=pads)
    return np.asarray(out[0, 0])
