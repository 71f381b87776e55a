"""The one exception type of padstride.studies."""

from __future__ import annotations

from ..errors import Error

__all__ = ["StudyError"]


class StudyError(Error, ValueError):
    """A bad study file, data path or option; the message is one line naming what was wrong.

    >>> str(StudyError("study.yaml: unknown key 'train.epoch'"))
    "study.yaml: unknown key 'train.epoch'"
    """

    def __init__(self, message: str) -> None:  # a study file's values are quoted: keep the line sane
        super().__init__(message if len(message) <= 500 else message[:499] + "…")
