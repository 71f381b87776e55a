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
from .load import ModelError

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
    except Error:
        raise
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
        mine = [f for f in stack if frames(f.filename)]
        if not mine:
            raise
        last = mine[-1]
        raise UserCodeError(f"error in the model's code ({Path(last.filename).name}:{last.lineno}, in {last.name}): "
                            f"{_describe(exc)}") from exc


def _ours(filename: str) -> bool:
    import padstride

    root = str(Path(padstride.__file__).resolve().parent)
    with contextlib.suppress(OSError, RuntimeError):
        return str(Path(filename).resolve()).startswith(root + "/")
    return False  # pragma: no cover
