"""Helpers shared by the CLI commands."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from ..errors import Error

__all__ = ["CliError", "emit_json", "parse_ints"]


class CliError(Error):
    """Bad command-line input: printed as one line, exit code 2."""


def parse_ints(text: str, name: str) -> tuple[int, ...]:
    """``"224,225"`` → ``(224, 225)``; the message names the flag on bad input.

    >>> parse_ints("3, 5", "--kernel")
    (3, 5)
    """
    parts = [part.strip() for part in re.split(r"[,x×]", text)]
    try:
        return tuple(int(part) for part in parts)
    except ValueError:
        raise CliError(f"{name} expects integers separated by commas, got {text!r}") from None


def emit_json(obj: Any) -> None:
    """Print exactly one JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False) + "\n")
