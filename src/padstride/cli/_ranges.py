"""``argparse`` ``type=`` validators for numbers with a range: bad values are refused when parsed.

A bad value raises ``argparse.ArgumentTypeError``; padstride's parser prints it as one line
(``padstride plot: error: argument -k/--kernel: must be >= 1, got 0``) and exits with code 2.

>>> import argparse
>>> p = argparse.ArgumentParser()
>>> _ = p.add_argument("--cell", type=int_range(4, 64))
>>> p.parse_args(["--cell", "24"]).cell
24
>>> int_range(1)("0")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: must be >= 1, got 0
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

from ._common import CliError

__all__ = ["float_range", "int_range", "span", "writable_dir", "writable_output"]


def _bounds(low: float | None, high: float | None, value: object) -> str:
    if high is None:
        return f"must be >= {low}, got {value}"
    if low is None:
        return f"must be <= {high}, got {value}"
    return f"must be between {low} and {high}, got {value}"


def int_range(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An integer in ``[low, high]`` (a bound of None is open).

    >>> int_range(1, 8)("9")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be between 1 and 8, got 9
    """

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text[:40]!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(_bounds(low, high, value))
        return value

    return parse


def float_range(low: float | None = None, high: float | None = None, *,
                open_low: bool = False) -> Callable[[str], float]:
    """A finite number in ``[low, high]`` (``(low, high]`` with ``open_low``); NaN and ±inf refused.

    >>> float_range(0, open_low=True)("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be > 0, got 0.0
    """

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text[:40]!r}")
        if open_low and low is not None and value <= low:
            raise argparse.ArgumentTypeError(f"must be > {low}, got {value}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(_bounds(low, high, value))
        return value

    return parse


def span(low: int = 1, high: int | None = None, max_count: int = 10_000) -> Callable[[str], range]:
    """``A:B`` (or ``A``) → ``range(A, B + 1)``, with ``low ≤ A ≤ B ≤ high`` and at most
    ``max_count`` values (a plot of more points than pixels is refused, not allocated).

    >>> span(1, max_count=100)("3:5")
    range(3, 6)
    >>> span(1, max_count=100)("1:1000000000000")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: at most 100 values, got 1:1000000000000 (1,000,000,000,000 values)
    """

    def parse(text: str) -> range:
        a, _, b = text.partition(":")
        try:
            lo, hi = int(a), int(b or a)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected A:B, got {text[:40]!r}") from None
        if lo < low or hi < lo or (high is not None and hi > high):
            top = "" if high is None else f" <= {high}"
            raise argparse.ArgumentTypeError(f"needs {low} <= A <= B{top}, got {text[:40]!r}")
        if hi - lo + 1 > max_count:
            raise argparse.ArgumentTypeError(f"at most {max_count:,} values, got {text[:40]} "
                                             f"({hi - lo + 1:,} values)")
        return range(lo, hi + 1)

    return parse


def writable_dir(directory: str, name: str) -> Path:
    """Create ``directory`` if needed and prove it writable (a probe file), before any work.

    >>> writable_dir("/proc/x", "--out")
    Traceback (most recent call last):
    ...
    padstride.cli._common.CliError: --out: cannot write in '/proc/x': ...
    """
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".padstride-probe-"):
            pass
    except FileExistsError:
        raise CliError(f"{name}: cannot write in {directory!r}: a part of it is a file, not a directory") from None
    except OSError as exc:
        raise CliError(f"{name}: cannot write in {directory!r}: {exc.strerror or exc}") from None
    return path


def writable_output(target: str, name: str = "--out") -> Path:
    """Check that file ``target`` can be written (its directory is created and probed), before
    any work; an existing directory in its place is refused.

    >>> writable_output("/proc/r.png")
    Traceback (most recent call last):
    ...
    padstride.cli._common.CliError: --out: cannot write in '/proc': ...
    """
    path = Path(target)
    if path.is_dir():
        raise CliError(f"{name}: {target!r} is a directory; give a file name")
    writable_dir(str(path.parent), name)
    return path
