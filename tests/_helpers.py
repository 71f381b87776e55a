"""Helpers shared by the test areas: fixed-seed hypothesis settings and the ``F.pad`` argument order."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import HealthCheck, settings


def oracle_settings(examples: int) -> settings:
    """Fixed-seed hypothesis settings: the same configurations on every run, no example database."""
    return settings(
        derandomize=True,
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def torch_pad(pads: Sequence[tuple[int, int]]) -> list[int]:
    """``F.pad`` order (last axis first) of per-axis ``(before, after)`` pairs."""
    return [p for pair in reversed(pads) for p in pair]
