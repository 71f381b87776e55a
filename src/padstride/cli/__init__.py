"""The one entry point: ``padstride <command>``.

Each command lives in ``padstride/cli/<command>.py`` and defines ``HELP``, ``add_arguments``
and ``run``. Bad input prints one line on stderr and exits with code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import Error

__all__ = ["COMMANDS", "main"]

COMMANDS: tuple[str, ...] = (
    "explain", "summary", "sizes", "verify", "study", "report", "plot", "animate", "serve",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(prog="padstride", description="Padding and stride, exact and explained.")
    parser.add_argument("--version", action="version", version=f"padstride {__version__}")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    >>> main(["explain", "--input", "7", "--kernel", "3", "--json"])  # doctest: +ELLIPSIS
    {...}
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except Error as exc:
        sys.stderr.write(f"padstride {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("padstride: interrupted\n")
        return 130
