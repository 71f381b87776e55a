"""The engine's memory bound (docs/engine.md) holds for pooling and transposed convolution
whatever the kernel: peak traced memory (tracemalloc; NumPy reports its buffers to it) beside the
output and the operands stays within the engine's threads × ``BLOCK_BYTES``, plus a small slack
for Python objects. Before taps were generated lazily and split in blocks, a global average pool
over 2048² took +273 MiB (a list of 4 M taps) and a kernel of 10^8 on 10 inputs ~10 GB."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from padstride.engine import Path, Tuning, _blocks, conv, conv_plan, conv_transpose, pool, set_block_bytes, set_workers

SLACK = 1 << 20  # Python objects: slices, tuples, the thread pool's bookkeeping


def _peak(fn: Callable[[], np.ndarray]) -> tuple[int, np.ndarray]:
    tracemalloc.start()
    try:
        out = fn()
        return tracemalloc.get_traced_memory()[1], out
    finally:
        tracemalloc.stop()


def _bound(out: np.ndarray, limit: int) -> int:
    """The documented bound beside the operands: the output, workers × the block limit, slack."""
    return out.nbytes + _blocks.workers() * limit + SLACK


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_global_pool_memory(mode: str) -> None:
    x = np.ones((1, 1, 2048, 2048), np.float32)
    peak, out = _peak(lambda: pool(x, 2048, mode=mode))
    assert out.shape == (1, 1, 1, 1) and out.item() == 1.0
    assert peak <= _bound(out, 2 * _blocks.tap_limit()), f"peak {peak / 2**20:.1f} MiB"


def test_huge_pool_kernel_memory() -> None:
    x = np.ones((2, 3, 1_000_000), np.float32)
    peak, out = _peak(lambda: pool(x, 999_990, 3, mode="avg"))
    assert out.shape == (2, 3, 4) and np.allclose(out, 1.0)
    assert peak <= _bound(out, 2 * _blocks.tap_limit()), f"peak {peak / 2**20:.1f} MiB"


def test_huge_transposed_kernel_memory() -> None:
    """A kernel of 200 000 taps on 10 inputs under a 256 KiB block limit: one input row's GEMM
    result (800 kB) is split along the taps."""
    x = np.ones((1, 1, 10), np.float32)
    w = np.ones((1, 1, 200_000), np.float32)
    old = set_block_bytes(256 << 10)
    try:
        peak, out = _peak(lambda: conv_transpose(x, w))
    finally:
        set_block_bytes(old)
    assert out.shape == (1, 1, 200_009) and out[0, 0, 100] == 10
    assert peak <= _bound(out, 256 << 10) + w.nbytes, f"peak {peak / 2**20:.1f} MiB"


def test_kernel_of_10_to_8_cropped_computes_only_reaching_taps() -> None:
    """10^8 taps (a broadcast weight: no memory), cropped to 20 outputs: only ~30 taps computed."""
    x = np.ones((1, 1, 10), np.float32)
    k = 100_000_000
    w = np.broadcast_to(np.float32(1), (1, 1, k))
    peak, out = _peak(lambda: conv_transpose(x, w, padding=[(k - 11, 0)]))
    assert out.shape == (1, 1, 20) and out[0, 0, 0] == 10 and out[0, 0, -1] == 1
    assert peak <= _bound(out, 0), f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_huge_pool_kernel_over_a_small_input(mode: str) -> None:
    """A kernel of 2·10^5 with ONNX-style pads (k − 1 each side) over 10 cells: k + 9 windows,
    computed per input cell (nothing padded). Average pooling also keeps one divisor per output."""
    k = 200_000
    x = np.arange(1, 11, dtype=np.float32).reshape(1, 1, 10)
    peak, out = _peak(lambda: pool(x, k, 1, [(k - 1, k - 1)], mode, count_include_pad=False))
    assert out.shape == (1, 1, k + 9)
    want = [1, 2, 3] if mode == "max" else [1, 1.5, 2]  # windows 0–2 hold cells 0, 0–1, 0–2
    assert out[0, 0, :3].tolist() == want and out[0, 0, -1] == 10  # the last window holds cell 9 only
    assert out[0, 0, 100_000] == (10 if mode == "max" else 5.5)
    divisors = 0 if mode == "max" else 3 * out.nbytes  # the per-axis divisors (a tuple, float64) and their map
    assert peak <= _bound(out, 0) + divisors, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("path", [Path.SHIFTED, Path.STACKED])
def test_shifted_conv_memory(path: Path) -> None:
    """A 3-D convolution's temporaries beside the output and its padded input stay within the bound
    (the columns' reach past a block's rows counted: one row here is a quarter of the limit)."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 8, 20, 20, 20)), rng.standard_normal((8, 8, 3, 3, 3))
    limit = 300_000
    tuning = Tuning(path=path, block_bytes=limit)
    assert not conv_plan(x, w, padding="same", tuning=tuning).own_pad
    padded = x.itemsize * (2 * 8 * 22**3 + 22 * 22)  # the input padded once, and its slack row
    old = set_workers(1)
    try:
        peak, out = _peak(lambda: conv(x, w, padding="same", tuning=tuning))
    finally:
        set_workers(old)
    assert peak <= out.nbytes + padded + limit + SLACK, f"{path}: {peak - out.nbytes - padded} > {limit + SLACK}"


@pytest.mark.parametrize("shape", [(64, 4, 12, 12), (4, 16, 30, 30)])
def test_depthwise_conv_memory(shape: tuple[int, ...]) -> None:
    """Depthwise blocks (padded copy, every tap's columns, GEMM result) stay within the limit beside
    the output: blocks of whole images with every channel, or of channels of all images."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((2 * shape[1], 1, 3, 3))
    limit = 200_000
    tuning = Tuning(block_bytes=limit)
    assert conv_plan(x, w, padding="same", groups=shape[1], tuning=tuning).path is Path.DEPTHWISE
    old = set_workers(2)
    try:
        peak, out = _peak(lambda: conv(x, w, padding="same", groups=shape[1], tuning=tuning))
    finally:
        set_workers(old)
    assert peak <= out.nbytes + 2 * limit + SLACK, f"{shape}: {peak - out.nbytes} > {2 * limit + SLACK}"
