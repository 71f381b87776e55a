"""Shared helpers of the engine tests: fixed-seed hypothesis settings and PyTorch oracles.

Every oracle is the framework's own op in float64; pads handed to it come from
``padstride.geometry`` (checked against the frameworks in ``tests/geometry``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from hypothesis import HealthCheck, settings

os.environ.setdefault("KERAS_BACKEND", "torch")

TOL = 1e-10


def fixed(examples: int) -> settings:
    """The same configurations on every run."""
    return settings(derandomize=True, max_examples=examples, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def torch_pad_arg(pads: Sequence[tuple[int, int]]) -> list[int]:
    """``F.pad`` order (last axis first)."""
    return [p for pair in reversed(pads) for p in pair]


def torch_padded(x: np.ndarray, pads: Sequence[tuple[int, int]], mode: str, value: float = 0.0) -> np.ndarray:
    """``x`` (N, C, *spatial) padded by ``F.pad`` (``symmetric``: ``np.pad``, non-negative pads)."""
    import torch
    import torch.nn.functional as F

    if mode == "symmetric":
        assert all(min(p) >= 0 for p in pads)
        return np.pad(x, [(0, 0), (0, 0), *pads], mode="symmetric")
    tmode = {"edge": "replicate", "constant": "constant", "reflect": "reflect", "circular": "circular"}[mode]
    t = torch.from_numpy(x)
    kw = {"value": value} if tmode == "constant" else {}
    return F.pad(t, torch_pad_arg(pads), mode=tmode, **kw).numpy()


def torch_op(name: str, nd: int):  # type: ignore[no-untyped-def]
    """``torch.nn.functional.<name><nd>d``."""
    import torch.nn.functional as F

    return getattr(F, f"{name}{nd}d")


def check(got: np.ndarray, want: np.ndarray, config: object) -> None:
    """Same shape and max |diff| ≤ 1e-10, the configuration in the message."""
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape} for {config}"
    if got.size:
        same = (got == want) | (np.isnan(got) & np.isnan(want))  # equal infinities included
        with np.errstate(invalid="ignore"):
            err = float(np.max(np.where(same, 0.0, np.abs(got - want))))
        assert err <= TOL, f"max |diff| {err:.3g} for {config}"
