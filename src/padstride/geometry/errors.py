"""The one exception type of padstride's arithmetic."""

from __future__ import annotations

from ..errors import Error

__all__ = ["PaddingError"]


class PaddingError(Error, ValueError):
    """Bad geometry: the message names the axis and the values that do not fit.

    >>> from padstride.geometry import conv
    >>> conv(7, 5, dilation=2)
    Traceback (most recent call last):
    ...
    padstride.geometry.errors.PaddingError: axis 0: kernel 5 with dilation 2 spans 9 > padded input 7 under 'valid'
    """
