"""The one exception type of padstride.studies."""

from __future__ import annotations

__all__ = ["StudyError"]


class StudyError(ValueError):
    """A bad study file, data path or option; the message is one line naming what was wrong.

    >>> str(StudyError("study.yaml: unknown key 'train.epoch'"))
    "study.yaml: unknown key 'train.epoch'"
    """
