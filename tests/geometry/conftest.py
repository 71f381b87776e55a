"""Shared fixtures of the geometry oracle tests: a count of configurations checked per framework.

The count is printed at the end of the run (``pytest_terminal_summary``); under pytest-xdist each
worker sends its count back to the controller.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

_KEY = "padstride_geometry_oracle_configs"
_TOTALS: Counter[str] = Counter()


@pytest.fixture(scope="session")
def oracle_count() -> Counter[str]:
    """``oracle_count["torch"] += 1`` per configuration checked against a framework."""
    return _TOTALS


class _XdistCollector:
    """Controller side: add up what each worker counted."""

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        _TOTALS.update(getattr(node, "workeroutput", {}).get(_KEY, {}))


def pytest_configure(config: pytest.Config) -> None:
    try:  # tiny tensors: one thread avoids thread-pool overhead on a shared 2-core machine
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistCollector(), "padstride-geometry-oracle-count")


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the count to the controller
        workeroutput[_KEY] = dict(_TOTALS)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _TOTALS:
        return
    parts = ", ".join(f"{name} {count}" for name, count in sorted(_TOTALS.items()))
    terminalreporter.write_sep("-", "padstride.geometry oracle configurations")
    terminalreporter.write_line(f"{sum(_TOTALS.values())} random configurations checked ({parts})")
