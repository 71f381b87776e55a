"""The analysis' error for models it cannot read: a leaf module, so readers and loader import it
without importing each other.

>>> str(ModelError("nowhere.yaml: no such file"))
'nowhere.yaml: no such file'
"""

from __future__ import annotations

from ..errors import Error

__all__ = ["ModelError"]


class ModelError(Error, ValueError):
    """A model reference that cannot be loaded or read (missing file, attribute, unsupported object).

    >>> from padstride.analysis import load_model
    >>> load_model("nowhere.yaml")
    Traceback (most recent call last):
    ...
    padstride.analysis.errors.ModelError: nowhere.yaml: no such file
    """
