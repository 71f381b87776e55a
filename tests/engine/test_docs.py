"""The docstring examples of padstride.engine and the code blocks of docs/engine.md run."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

MODULES = ["__init__", "_blocks", "_layout", "convolution", "padding", "plan", "pooling", "reference", "seed",
           "transposed"]
DOC = Path(__file__).resolve().parents[2] / "docs" / "engine.md"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module("padstride.engine" + ("" if name == "__init__" else f".{name}"))
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0, f"{name}: {result}"


@pytest.mark.parametrize("index", range(len(re.findall(r"```python\n", DOC.read_text()))))
def test_docs_engine_md_blocks_run(index: int) -> None:
    block = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)[index]
    exec(compile(block, f"docs/engine.md block {index}", "exec"), {})
