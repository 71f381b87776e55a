"""The one entry point: ``padstride <command>``.

Each command lives in ``padstride/cli/<command>.py`` and defines ``HELP``, ``add_arguments``
and ``run``. Bad input prints one line on stderr and exits with code 2, never a traceback
(``--debug`` shows it); Ctrl-C exits with 130; a closed pipe (``padstride explain … | head -2``)
ends quietly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ..errors import Error

__all__ = ["COMMANDS", "main"]

COMMANDS: tuple[str, ...] = (
    "explain", "summary", "sizes", "diff", "verify", "study", "report", "plot", "animate", "serve",
)

_MAX_MESSAGE = 400  # characters of one error line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(one_line(f"{self.prog}: error: {message}") + "\n")
        raise SystemExit(2)


def one_line(text: str, limit: int = _MAX_MESSAGE) -> str:
    """``text`` on one line of at most ``limit`` characters (the middle elided).

    >>> one_line("a\\nb")
    'a b'
    >>> len(one_line("x" * 1000))
    400
    """
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    tail = (limit - 3) // 4
    return flat[: limit - 3 - tail] + " … " + flat[len(flat) - tail:]


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(prog="padstride", description="Padding and stride, exact and explained.")
    parser.add_argument("--version", action="version", version=f"padstride {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, show the full Python traceback instead of one line")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        sub = subs.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def _os_message(exc: OSError) -> str:
    """``afile: File exists`` (from ``mkdir`` on a file) says it better as ``afile: is a file, not a folder``."""
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and exc.filename:
        path = str(exc.filename)
        while path and not os.path.exists(path):
            path = os.path.dirname(path)
        if path and os.path.isfile(path):
            return f"{path}: is a file, not a folder"
    if exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return exc.strerror or str(exc) or type(exc).__name__


def _silence_stdout() -> None:
    """After a broken pipe: send what is left to /dev/null so the exit flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (captured in tests)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 a check failed, 2 bad input, 130 interrupted).

    A bad option is refused by argparse while parsing: one line, then ``SystemExit(2)``.

    >>> main(["explain", "--input", "7", "--kernel", "3", "--json"])  # doctest: +ELLIPSIS
    {...}
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    prefix = f"padstride {args.command}: error: "
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say to anyone
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        sys.stderr.write(f"padstride {args.command}: interrupted\n")
        return 130
    except (Error, OSError, MemoryError, RecursionError) as exc:
        if args.debug:
            raise
        if isinstance(exc, MemoryError):
            text = "out of memory: the input is too large for this command"
        elif isinstance(exc, RecursionError):
            text = "the model is nested too deeply to analyse (maximum recursion depth exceeded)"
        elif isinstance(exc, OSError) and not isinstance(exc, Error):
            text = _os_message(exc)
        else:
            text = str(exc) or type(exc).__name__
        sys.stderr.write(one_line(prefix + text) + "\n")
        return 2
