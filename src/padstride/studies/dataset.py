"""The in-memory dataset every study trains on: NumPy arrays, channels first.

>>> import numpy as np
>>> d = Dataset("toy", np.zeros((4, 1, 8, 8), np.float32), np.arange(4), np.zeros((2, 1, 8, 8), np.float32),
...             np.arange(2), ("a", "b", "c", "d"), {})
>>> d.input_shape, d.num_classes
((1, 8, 8), 4)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Dataset", "border_distance"]


@dataclass
class Dataset:
    """Train/test arrays (``x``: float32 N×C×spatial in [0, 1]; ``y``: int64 labels) plus extras.

    ``mask_*`` hold per-pixel targets (segmentation); ``border_*`` each sample's object-to-edge
    distance in pixels; ``info`` describes the data for reports.

    >>> x = np.zeros((4, 1, 8, 8), np.float32)
    >>> d = Dataset("blank", x, np.zeros(4, np.int64), x[:2], np.zeros(2, np.int64), ("a", "b"), {})
    >>> d.input_shape, d.num_classes
    ((1, 8, 8), 2)
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    info: dict[str, Any]
    border_train: np.ndarray | None = None
    border_test: np.ndarray | None = None
    mask_train: np.ndarray | None = None
    mask_test: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def border_distance(x: np.ndarray, threshold: float = 0.1) -> np.ndarray:
    """Per sample, the distance in pixels from the bounding box of ``x > threshold`` to the nearest edge.

    >>> import numpy as np
    >>> img = np.zeros((1, 1, 6, 6)); img[0, 0, 1:3, 2:5] = 1
    >>> border_distance(img).tolist()
    [1]
    """
    ink = x.reshape(x.shape[0], -1, *x.shape[2:]).max(axis=1) > threshold  # N × spatial
    dist = np.full(len(x), np.iinfo(np.int64).max, np.int64)
    for axis in range(1, ink.ndim):
        other = tuple(a for a in range(1, ink.ndim) if a != axis)
        line = ink.any(axis=other) if other else ink
        n = line.shape[1]
        first = np.where(line.any(1), line.argmax(1), n // 2)
        last = np.where(line.any(1), n - 1 - line[:, ::-1].argmax(1), n // 2)
        dist = np.minimum(dist, np.minimum(first, n - 1 - last))
    return dist
