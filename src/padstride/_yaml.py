"""YAML from untrusted files, with a budget: a size cap, a node cap after alias expansion, no recursion.

``yaml.safe_load`` runs no code, but a 586-byte file of nested anchors ("billion laughs") names
10⁹ values; anything that walks the result (validation, ``repr`` in an error, a JSON fingerprint)
then takes gigabytes. :func:`safe_load` counts every node as if aliases were expanded, in linear
time, and stops past the budget with a :class:`YAMLBudgetError` (a ``yaml.YAMLError``).

>>> safe_load("a: &x [1, 2]\\nb: *x\\n")
{'a': [1, 2], 'b': [1, 2]}
>>> bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\\n" + "".join(
...     f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\\n" for p, c in zip("abcdefgh", "bcdefghi"))
>>> safe_load(bomb)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
padstride._yaml.YAMLBudgetError: ... more than 100000 values once aliases are expanded ...
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MAX_BYTES", "MAX_NODES", "YAMLBudgetError", "safe_load"]

MAX_BYTES = 8 * 1024 * 1024  #: the largest YAML text read
MAX_NODES = 100_000  #: values after alias expansion


class YAMLBudgetError(yaml.YAMLError):
    """A YAML text over the budget (too big, too many values once expanded, recursive or too deep)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = None


class _Loader(yaml.SafeLoader):
    max_nodes = MAX_NODES

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        alias = self.check_event(yaml.AliasEvent)
        node = super().compose_node(parent, index)
        key = id(node)
        if alias:  # counts again in its parent, costs nothing here
            if key not in self._sizes:
                raise YAMLBudgetError("an alias refers to its own anchor (a recursive structure)")
            return node
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        size = 1
        for child in children:
            size += self._sizes[id(child)]
            if size > self.max_nodes:
                raise YAMLBudgetError(f"the document holds more than {self.max_nodes} values once aliases are "
                                      "expanded (nested anchors?)")
        self._sizes[key] = size
        return node


def safe_load(text: str | bytes, max_nodes: int = MAX_NODES, max_bytes: int = MAX_BYTES) -> Any:
    """``yaml.safe_load`` with the budget above; raises :class:`YAMLBudgetError` (a ``yaml.YAMLError``)."""
    if len(text) > max_bytes:
        raise YAMLBudgetError(f"the file is larger than {max_bytes // (1024 * 1024)} MiB")
    loader = _Loader(text)  # type: ignore[arg-type]
    loader.max_nodes = max_nodes
    try:
        return loader.get_single_data()
    except RecursionError:
        raise YAMLBudgetError("the document is nested too deeply") from None
    finally:
        loader.dispose()


def read_text(path: Any, max_bytes: int = MAX_BYTES) -> str:
    """A file's text, refusing files larger than ``max_bytes`` before reading them.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "s.yaml"); _ = open(p, "w").write("a: 1")
    >>> read_text(p)
    'a: 1'
    """
    import os

    size = os.stat(path).st_size
    if size > max_bytes:
        raise YAMLBudgetError(f"the file is {size:,} bytes; specs are read up to {max_bytes:,}")
    with open(path, encoding="utf-8") as fh:
        return fh.read(max_bytes + 1)
