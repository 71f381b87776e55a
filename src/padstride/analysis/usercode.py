"""Errors raised by the user's own code (their ``model.py``, a factory, a ``forward``), named as such.

``padstride summary FILE.py:ATTR`` imports and runs the user's file; when that code fails, the
user should read *their* file and line, not padstride's traceback.

>>> def forward():
...     return 1 // 0
>>> try:
...     with user_code("bad.py:model", frames=lambda name: name == __file__ or name.startswith("<doctest")):
...         forward()
... except UserCodeError as exc:
...     print(str(exc).split(":")[0])
error in the model's code (<doctest padstride.analysis.usercode[0]>
"""

from __future__ import annotations

import contextlib
import functools
import sysconfig
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import Error
from .errors import ModelError

__all__ = ["UserCodeError", "is_user_file", "user_code"]


class UserCodeError(ModelError):
    """The user's model code raised: the message names the file, line and exception."""


@functools.lru_cache(maxsize=1)
def _roots() -> tuple[str, ...]:
    import padstride

    roots = [str(Path(padstride.__file__).resolve().parent)]
    for key in ("stdlib", "platstdlib"):
        with contextlib.suppress(KeyError):
            roots.append(str(Path(sysconfig.get_paths()[key]).resolve()))
    for name in ("torch", "keras", "onnx", "onnxruntime", "numpy", "yaml", "importlib"):
        spec = None
        with contextlib.suppress(ImportError, ValueError):
            import importlib.util

            spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            roots.append(str(Path(spec.origin).resolve().parent))
    return tuple(roots)


def is_user_file(filename: str) -> bool:
    """True when ``filename`` is neither padstride's, the standard library's nor a framework's.

    >>> is_user_file(__file__), is_user_file("/home/me/model.py")
    (False, True)
    """
    if filename.startswith("<frozen") or filename.startswith("<string"):
        return False
    try:
        path = str(Path(filename).resolve())
    except (OSError, RuntimeError):  # pragma: no cover
        return True
    return not any(path == root or path.startswith(root + "/") for root in _roots())


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextlib.contextmanager
def user_code(ref: str, frames: Callable[[str], bool] = is_user_file) -> Iterator[None]:
    """Turn an exception that the user's code raised into one :class:`UserCodeError` line.

    Padstride's own errors pass through unchanged, and so does an exception raised inside padstride
    itself (a bug: its traceback stays). ``frames(filename)`` says which files are the user's.
    """
    try:
        yield
    except Error as exc:  # padstride's message; add where the user's code was when it failed
        where = _user_frame(exc.__context__, frames) if not isinstance(exc.__context__, Error) else None
        if where is None or where.split(",")[0] in str(exc):  # the message already names the line
            raise
        try:
            located = type(exc)(f"{exc} (at {where})")
        except TypeError:  # pragma: no cover - an error class with another signature
            raise exc from None
        raise located from exc
    except SyntaxError as exc:  # the user's file does not parse (IndentationError included)
        if exc.filename and not frames(exc.filename):
            raise
        where = f"{exc.filename}:{exc.lineno}" if exc.lineno else str(exc.filename or ref)
        raise UserCodeError(f"{where}: {type(exc).__name__}: {exc.msg}") from exc
    except Exception as exc:
        stack = traceback.extract_tb(exc.__traceback__)
        if not stack:
            raise
        if _ours(stack[-1].filename):
            raise  # raised in padstride itself: a bug, keep the traceback
        where = _user_frame(exc, frames)
        if where is None:
            raise
        raise UserCodeError(f"error in the model's code ({where}): {_describe(exc)}") from exc


def _user_frame(exc: BaseException | None, frames: Callable[[str], bool]) -> str | None:
    """``file.py:12, in forward`` for the innermost frame of the user's code in ``exc``'s traceback."""
    if exc is None or exc.__traceback__ is None:
        return None
    mine = [f for f in traceback.extract_tb(exc.__traceback__) if frames(f.filename)]
    if not mine:
        return None
    last = mine[-1]
    return f"{Path(last.filename).name}:{last.lineno}, in {last.name}"


def _ours(filename: str) -> bool:
    import padstride

    root = str(Path(padstride.__file__).resolve().parent)
    with contextlib.suppress(OSError, RuntimeError):
        return str(Path(filename).resolve()).startswith(root + "/")
    return False  # pragma: no cover
