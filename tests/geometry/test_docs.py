"""docs/conventions.md stays true: every test it names exists, its messages are real.
(Its examples run in tests/test_docs.py, with every other docs/*.md.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "conventions.md"
HERE = Path(__file__).resolve().parent


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_named_test_exists() -> None:
    named = set(re.findall(r"`(test_\w+\.py)::(test_\w+)`", DOC.read_text()))
    assert len(named) > 30
    missing = [f"{f}::{t}" for f, t in sorted(named) if t not in _tests_in(HERE / f)]
    assert not missing, missing


@pytest.mark.parametrize("message", [
    "axis 1: kernel 5 with dilation 2 spans 9 > padded input 7 under 'valid'",
    "axis 0: cropping (1, -3) removes all 3 input pixels",
])
def test_documented_messages_are_real(message: str) -> None:
    from padstride.geometry import PaddingError, conv

    assert message in DOC.read_text()
    calls = {"axis 1": lambda: conv((10, 7), 5, dilation=(1, 2)),
             "axis 0": lambda: conv(3, 1, 1, (1, -3))}
    with pytest.raises(PaddingError) as info:
        calls[message[:6]]()
    assert str(info.value) == message
