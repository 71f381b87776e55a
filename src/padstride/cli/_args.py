"""Reusable ``argparse`` ``type=`` validators: bad values are refused when parsed, before any work.

Each factory returns a callable for ``type=``; a bad value raises ``argparse.ArgumentTypeError``,
which argparse prints as one line (``padstride study: error: argument --threads: …``) with exit 2.

>>> import argparse
>>> p = argparse.ArgumentParser()
>>> _ = p.add_argument("--seeds", type=int_range(1, 10_000))
>>> p.parse_args(["--seeds", "3"]).seeds
3
>>> int_list(1, 4096, min_len=1, max_len=3)("28,28")
(28, 28)
"""

from __future__ import annotations

import argparse
import math
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ._common import CliError

__all__ = [
    "finite_float",
    "int_list",
    "int_range",
    "output_path",
    "positive_int",
    "span",
    "threads",
    "writable_dir",
    "writable_output",
]

_INT = re.compile(r"^[+-]?\d{1,30}$")


def _int(text: str) -> int:
    text = text.strip().replace("_", "")
    if not _INT.match(text):
        raise argparse.ArgumentTypeError(f"expected an integer, got {text[:40]!r}")
    return int(text)


def int_range(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An integer in ``[low, high]`` (either bound may be None).

    >>> int_range(1, 8)("9")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be between 1 and 8, got 9
    """

    def parse(text: str) -> int:
        value = _int(text)
        if (low is not None and value < low) or (high is not None and value > high):
            if high is None:
                raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
            if low is None:
                raise argparse.ArgumentTypeError(f"must be <= {high}, got {value}")
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def positive_int(high: int | None = None) -> Callable[[str], int]:
    """An integer >= 1 (and <= ``high`` when given).

    >>> positive_int()("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be >= 1, got 0
    """
    return int_range(1, high)


def threads(text: str) -> int:
    """A torch thread count: 1 … 4 × the CPU count (0 = all cores).

    >>> threads("1"), threads("0")
    (1, 0)
    """
    high = 4 * (os.cpu_count() or 1)
    return int_range(0, high)(text)


def finite_float(low: float = 0.0, high: float | None = None, strict: bool = False) -> Callable[[str], float]:
    """A finite number >= ``low`` (> when ``strict``), <= ``high`` when given; NaN and inf are refused.

    >>> finite_float()("1e-5")
    1e-05
    >>> finite_float()("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a finite number, got 'nan'
    """

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text[:40]!r}")
        if value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low:g}, got {value:g}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high:g}, got {value:g}")
        return value

    parse.__name__ = "number"
    return parse


def int_list(low: int | None = None, high: int | None = None, min_len: int = 1,
             max_len: int | None = None) -> Callable[[str], tuple[int, ...]]:
    """Comma-separated integers (``28,28`` or ``28x28``), each in ``[low, high]``, ``min_len``…``max_len`` of them.

    >>> int_list(1, 100, max_len=2)("3,0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: each value must be between 1 and 100, got 0 in '3,0'
    """

    def parse(text: str) -> tuple[int, ...]:
        parts = [p for p in re.split(r"[,x×]", text.strip())]
        if len(text) > 200 or (max_len is not None and len(parts) > max_len):
            raise argparse.ArgumentTypeError(f"expected at most {max_len} values, got {text[:40]!r}")
        try:
            values = tuple(_int(p) for p in parts)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text[:40]!r}") from None
        if len(values) < min_len:
            raise argparse.ArgumentTypeError(f"expected at least {min_len} values, got {text[:40]!r}")
        for v in values:
            if (low is not None and v < low) or (high is not None and v > high):
                bound = (f"between {low} and {high}" if low is not None and high is not None
                         else f">= {low}" if low is not None else f"<= {high}")
                raise argparse.ArgumentTypeError(f"each value must be {bound}, got {v} in {text[:40]!r}")
        return values

    parse.__name__ = "integer list"
    return parse


def _writable_folder(path: Path) -> str | None:
    """Why files cannot be created in ``path``'s folder, or None. Creates nothing."""
    parent = path.parent
    for folder in (parent, *parent.parents):
        if folder.exists():
            if not folder.is_dir():
                return f"{folder} is not a directory"
            if not os.access(folder, os.W_OK | os.X_OK):
                return f"{folder} is not writable"
            if folder != parent:  # missing folders would be created below an existing one
                return None
            return None
    return None  # pragma: no cover - '/' always exists


def _virtual(path: Path) -> bool:
    """True for files under /proc, /sys or /dev: not a place for results."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return False
    return any(resolved == Path(root) or Path(root) in resolved.parents for root in ("/proc", "/sys", "/dev"))


def check_output(path: str | os.PathLike[str], flag: str = "--output",
                 suffixes: Sequence[str] = (), inputs: Sequence[str | os.PathLike[str]] = ()) -> Path:
    """Refuse, with one line, an output path that could not be written (checked before any work).

    The folder must exist or be creatable, be a directory and be writable; the path must not be a
    directory, a file under /proc, /sys or /dev, one of ``inputs``, or have a suffix other than
    ``suffixes`` (when given). Creates nothing. Raises :class:`~padstride.cli._common.CliError`.

    >>> check_output("r.html", suffixes=(".html",)).name
    'r.html'
    >>> check_output("r.png", suffixes=(".html", ".htm"))
    Traceback (most recent call last):
    ...
    padstride.cli._common.CliError: --output r.png: expected a .html or .htm file
    """
    p = Path(path)
    text = str(path)
    if not text or text.endswith(("/", os.sep)):
        raise CliError(f"{flag} {text!r}: expected a file name")
    if p.is_dir():
        raise CliError(f"{flag} {text}: is a directory")
    if suffixes and p.suffix.lower() not in suffixes:
        raise CliError(f"{flag} {text}: expected a {' or '.join(suffixes)} file")
    if _virtual(p):
        raise CliError(f"{flag} {text}: cannot write results under /proc, /sys or /dev")
    for given in inputs:
        try:
            same = p.exists() and Path(given).exists() and os.path.samefile(p, given)
        except OSError:
            same = False
        if same or p.resolve() == Path(given).resolve():
            raise CliError(f"{flag} {text}: is one of the inputs; choose another output file")
    why = _writable_folder(p)
    if why:
        raise CliError(f"{flag} {text}: {why}")
    if p.exists() and not os.access(p, os.W_OK):
        raise CliError(f"{flag} {text}: not writable")
    return p


def output_path(flag: str, suffixes: Sequence[str] = ()) -> Callable[[str], str]:
    """A ``type=`` for an output file: :func:`check_output` at parse time (one line, exit 2).

    >>> output_path("-o", (".jsonl",))("r.jsonl")
    'r.jsonl'
    """

    def parse(text: str) -> str:

        try:
            check_output(text, flag, suffixes)
        except CliError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{flag} ")) from None
        return text

    parse.__name__ = "output path"
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
