"""padstride.engine — NumPy reference ops for every padding convention, N-D and fast.

>>> import numpy as np
>>> from padstride import engine
>>> x = np.ones((1, 1, 5, 5), np.float32)
>>> engine.conv(x, np.ones((1, 1, 3, 3), np.float32), stride=2, padding="same")[0, 0]
array([[4., 6., 4.],
       [6., 9., 6.],
       [4., 6., 4.]], dtype=float32)

What each op means reads in :mod:`padstride.engine.reference` (pad → strided window view →
contraction, a few lines per op); the fast functions compute the same numbers within a memory
bound. Pads always come from :mod:`padstride.geometry`; the engine only moves numbers. Functions:
:func:`pad`, :func:`conv`, :func:`pool`, :func:`conv_transpose`, and seed 001's
:func:`add_padding` / :func:`convolution2d`. A convolution's path comes from one planner
(:func:`conv_plan`, :class:`Path`, :class:`Tuning`). Memory per block: :data:`BLOCK_BYTES`
(:func:`set_block_bytes`); threads: :func:`set_workers`. See ``docs/engine.md``.
"""

from . import reference
from ._blocks import BLOCK_BYTES, set_block_bytes, set_workers
from .convolution import conv, conv_plan
from .padding import PAD_MODES, pad
from .plan import ConvPlan, Path, PlanError, Tuning
from .pooling import POOL_MODES, pool
from .seed import add_padding, convolution2d
from .transposed import conv_transpose

__all__ = [
    "BLOCK_BYTES",
    "PAD_MODES",
    "POOL_MODES",
    "ConvPlan",
    "Path",
    "PlanError",
    "Tuning",
    "add_padding",
    "conv",
    "conv_plan",
    "conv_transpose",
    "convolution2d",
    "pad",
    "pool",
    "reference",
    "set_block_bytes",
    "set_workers",
]
