"""padstride.engine — NumPy reference ops for every padding convention, N-D and fast.

>>> import numpy as np
>>> from padstride import engine
>>> x = np.ones((1, 1, 5, 5), np.float32)
>>> engine.conv(x, np.ones((1, 1, 3, 3), np.float32), stride=2, padding="same")[0, 0]
array([[4., 6., 4.],
       [6., 9., 6.],
       [4., 6., 4.]], dtype=float32)

Pads always come from :mod:`padstride.geometry`; the engine only moves numbers. Functions:
:func:`pad`, :func:`conv`, :func:`pool`, :func:`conv_transpose`, and seed 001's
:func:`add_padding` / :func:`convolution2d`. Memory per block: :data:`BLOCK_BYTES`
(:func:`set_block_bytes`); threads: :func:`set_workers`. See ``docs/engine.md``.
"""

from ._blocks import BLOCK_BYTES, set_block_bytes, set_workers
from .convolution import conv
from .padding import PAD_MODES, pad
from .pooling import POOL_MODES, pool
from .seed import add_padding, convolution2d
from .transposed import conv_transpose

__all__ = [
    "BLOCK_BYTES",
    "PAD_MODES",
    "POOL_MODES",
    "add_padding",
    "conv",
    "conv_transpose",
    "convolution2d",
    "pad",
    "pool",
    "set_block_bytes",
    "set_workers",
]
