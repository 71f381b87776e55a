"""Small arrays inside JSON records: uint8 images packed as base64.

>>> import numpy as np
>>> packed = pack(np.eye(3, dtype=np.float32)[None])
>>> unpack(packed).shape, int(unpack(packed).max())
((1, 3, 3), 255)
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

__all__ = ["pack", "unpack"]


def pack(images: np.ndarray) -> dict[str, Any]:
    """Floats in [0, 1] (or booleans) → ``{"shape", "b64"}`` of uint8.

    >>> pack(np.zeros((1, 2)))["shape"]
    [1, 2]
    """
    arr = np.clip(np.asarray(images, np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)
    return {"shape": list(arr.shape), "b64": base64.b64encode(arr.tobytes()).decode("ascii")}


def unpack(packed: dict[str, Any]) -> np.ndarray:
    """``{"shape", "b64"}`` → uint8 array.

    >>> unpack({"shape": [2], "b64": "AP8="}).tolist()
    [0, 255]
    """
    return np.frombuffer(base64.b64decode(packed["b64"]), np.uint8).reshape(packed["shape"])
