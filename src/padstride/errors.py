"""The base of every padstride exception: catch :class:`Error` to catch them all.

A leaf module (no imports), so every layer — ``geometry`` included — may use it. Each area keeps
its own subclass (``PaddingError``, ``SpecError``, ``ModelError``, ``StudyError``, …), which also
stays a ``ValueError`` for callers that caught that before.

>>> from padstride.geometry import conv
>>> try:
...     conv(2, 5)
... except Error as exc:
...     print(type(exc).__name__)
PaddingError
"""

from __future__ import annotations

__all__ = ["Error"]


class Error(Exception):
    """Something padstride was asked that it cannot do; the message is one line saying what and why.

    >>> str(Error("input 0 is too small"))
    'input 0 is too small'
    """
