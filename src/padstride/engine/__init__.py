"""padstride.engine — NumPy reference ops for every padding convention, N-D and fast.

>>> import numpy as np
>>> from padstride import engine
>>> x = np.ones((1, 1, 5, 5), np.float32)
>>> engine.conv(x, np.ones((1, 1, 3, 3), np.float32), stride=2, padding="same")[0, 0]
array([[4., 6., 4.],
       [6., 9., 6.],
       [4., 6., 4.]], dtype=float32)

Pads always come from :mod:`padstride.geometry`; the engine only moves numbers.
"""

from ._blocks import BLOCK_BYTES, set_block_bytes, set_workers
from .convolution import conv
from .padding import PAD_MODES, pad

__all__ = ["BLOCK_BYTES", "PAD_MODES", "conv", "pad", "set_block_bytes", "set_workers"]
