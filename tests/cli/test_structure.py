"""Logic out of the CLI: verify lives in the library, no import cycle in studies, no doctest that asserts nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "padstride"


def _relative_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1}


def test_runner_and_ray_executor_do_not_import_each_other():
    studies = SRC / "studies"
    assert "runner" not in _relative_imports(studies / "ray_executor.py")
    assert "ray_executor" not in _relative_imports(studies / "record.py")


def test_verify_cli_only_parses_and_prints():
    cli = (SRC / "cli" / "verify.py").read_text()
    for name in ("def experiment", "def _torch", "def _keras", "def _onnxruntime", "RUNNERS", "np.random"):
        assert name not in cli, f"{name} belongs in padstride.verify"
    from padstride import verify

    assert set(verify.RUNNERS) == set(verify.IMPLS)


def test_no_doctest_only_names_a_function():
    empty = re.compile(r">>> [\w.]+\.(__name__|__doc__)\b")
    found = [f"{p.relative_to(SRC)}:{i}" for p in SRC.rglob("*.py")
             for i, line in enumerate(p.read_text().splitlines(), 1) if empty.search(line)]
    assert not found, f"doctests that assert nothing: {found}"
