"""Array layouts: ``channels_first`` (N, C, *spatial) and ``channels_last`` (N, *spatial, C).

>>> import numpy as np
>>> channels_first_view(np.zeros((2, 5, 6, 3)), 2, "channels_last").shape
(2, 3, 5, 6)
"""

from __future__ import annotations

import numpy as np

from ..geometry import PaddingError

__all__ = ["LAYOUTS", "batched", "channels_first_view", "check_layout"]

LAYOUTS: tuple[str, ...] = ("channels_first", "channels_last")
_ALIASES = {"nchw": "channels_first", "ncw": "channels_first", "ncdhw": "channels_first",
            "nhwc": "channels_last", "nwc": "channels_last", "ndhwc": "channels_last"}


def check_layout(layout: str) -> str:
    """Canonical layout name (also accepts ``NCHW``/``NHWC``-style spellings).

    >>> check_layout("NHWC")
    'channels_last'
    """
    key = _ALIASES.get(layout.lower(), layout.lower())
    if key not in LAYOUTS:
        raise PaddingError(f"unknown layout {layout!r}; expected 'channels_first' or 'channels_last'")
    return key


def batched(x: np.ndarray, nd: int, what: str = "input") -> tuple[np.ndarray, bool]:
    """``x`` with a batch axis, and whether it had one (``nd`` spatial axes plus channels)."""
    if x.ndim == nd + 2:
        return x, True
    if x.ndim == nd + 1:
        return x[None], False
    raise PaddingError(
        f"{what} has {x.ndim} axes; a {nd}-D op takes (N, C, *spatial) or (C, *spatial) "
        f"(channels last: (N, *spatial, C)), i.e. {nd + 2} or {nd + 1} axes"
    )


def channels_first_view(x: np.ndarray, nd: int, layout: str) -> np.ndarray:
    """A (N, C, *spatial) view of a batched array in ``layout`` (no copy)."""
    return x if layout == "channels_first" else np.moveaxis(x, -1, 1)
