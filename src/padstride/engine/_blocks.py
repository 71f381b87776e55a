"""Memory bound of the engine: how the im2col / window buffers are split into blocks.

Blocks run on a pool of threads (NumPy releases the GIL in copies, ufuncs and matmul), as many as
NumPy's BLAS is set to use; while they run, BLAS is held to one thread each, so a block's copies,
GEMM and elementwise work all run in parallel. That needs ``threadpoolctl``; without it blocks run
one after another and BLAS threads itself.

Every op works on one block of ``(images, rows of the first spatial output axis)`` at a time,
sized so that its temporary buffers (im2col columns plus the GEMM result) hold at most
:data:`BLOCK_BYTES` (8 MiB by default); the tap loops of pooling, which sweep their accumulator
once per kernel tap, use at most ``min(BLOCK_BYTES, TAP_BYTES)`` (2 MiB) so it stays in cache. The
one exception: a block is never smaller than one output row of one image (depthwise convolution:
one image of one channel), so a single row that needs more than the limit is done whole.
Blocks are made even (their image counts differ by at most one, and their number is a multiple of
the thread count), so no thread is left with one block more than the others. Every worker thread
holds one block at a time.

>>> from padstride.engine import _blocks
>>> list(_blocks.plan(n=4, rows=10, row_bytes=1 << 20, limit=4 << 20))[:3]
[(0, 1, 0, 4), (0, 1, 4, 8), (0, 1, 8, 10)]
>>> list(_blocks.plan(n=32, rows=28, row_bytes=80_000, limit=8 << 20, parts=2))[:2]  # 12 blocks, not 11
[(0, 2, 0, 28), (2, 5, 0, 28)]
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Literal, Protocol, TypeVar

__all__ = ["BLOCK_BYTES", "TAP_BYTES", "plan", "run", "set_block_bytes", "set_workers", "tap_limit", "workers"]

#: Upper bound, in bytes, on the temporary buffers of one block (default 8 MiB: im2col columns of
#: a whole 56² image for a 64-channel 3×3 conv, so the GEMM gets long rows; see ``docs/engine.md``).
#: Each worker thread holds one block at a time, so the temporaries total at most
#: ``workers() × BLOCK_BYTES``. Change it at run time with ``padstride.engine.set_block_bytes``, or
#: per call with ``padstride.engine.Tuning(block_bytes=...)``.
BLOCK_BYTES: int = 8 << 20


#: Cap, in bytes, on the accumulator (plus its temporary) of the tap loops — depthwise convolution
#: and pooling — which stream over it once per kernel tap, so it should stay in a core's L2 cache.
TAP_BYTES: int = 2 << 20


def tap_limit() -> int:
    """Block limit of the tap loops: ``min(BLOCK_BYTES, TAP_BYTES)``.

    >>> from padstride.engine import _blocks
    >>> _blocks.tap_limit() <= _blocks.BLOCK_BYTES
    True
    """
    return min(BLOCK_BYTES, TAP_BYTES)


def set_block_bytes(limit: int) -> int:
    """Set :data:`BLOCK_BYTES` and return the previous value.

    >>> from padstride.engine import set_block_bytes
    >>> old = set_block_bytes(1 << 20); _ = set_block_bytes(old)
    """
    global BLOCK_BYTES
    if limit < 1:
        raise ValueError(f"block size must be >= 1 byte, got {limit}")
    old, BLOCK_BYTES = BLOCK_BYTES, int(limit)
    return old


def plan(n: int, rows: int, row_bytes: int, limit: int | None = None,
         parts: int | None = None) -> Iterator[tuple[int, int, int, int]]:
    """Blocks ``(n0, n1, r0, r1)`` covering ``n`` images × ``rows`` rows within ``limit`` bytes.

    Blocks of whole images are as even as can be and, where there are several, a multiple of
    ``parts`` (default :func:`workers`) in number, so every thread gets the same share.
    """
    limit = BLOCK_BYTES if limit is None else limit
    image = rows * row_bytes
    if image <= limit:
        step = max(1, limit // max(image, 1))
        k = max(1, parts if parts is not None else workers())
        count = min(n, math.ceil(math.ceil(n / step) / k) * k)  # enough blocks, a multiple of k
        for i in range(count):
            yield n * i // count, n * (i + 1) // count, 0, rows
        return
    per = max(1, limit // max(row_bytes, 1))
    for n0 in range(n):
        for r0 in range(0, rows, per):
            yield n0, n0 + 1, r0, min(rows, r0 + per)


_WORKERS: int | None = None  # None: as many as NumPy's BLAS threads
_POOL: ThreadPoolExecutor | None = None
_PREFIX = "padstride-engine"
_INSIDE = threading.local()  # .active: this thread is running blocks


class _LibController(Protocol):
    """What the engine reads of one of threadpoolctl's library controllers."""

    num_threads: int
    user_api: str


class _Controller(Protocol):
    """What the engine uses of ``threadpoolctl.ThreadpoolController`` (the package has no types)."""

    @property
    def lib_controllers(self) -> Sequence[_LibController]: ...

    def limit(self, *, limits: int, user_api: str) -> AbstractContextManager[object]: ...


_CONTROLLER: _Controller | Literal[False] | None = None


def _controller() -> _Controller | Literal[False]:
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _CONTROLLER = False
        else:
            _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def workers() -> int:
    """Threads the engine uses: :func:`set_workers`' value, else NumPy's BLAS thread count."""
    if _WORKERS is not None:
        return _WORKERS
    ctl = _controller()
    if not ctl:
        return 1
    blas = [lib.num_threads for lib in ctl.lib_controllers if lib.user_api == "blas"]
    return max(blas) if blas else 1


def set_workers(n: int | None) -> int | None:
    """Fix the engine's thread count (``None``: follow NumPy's BLAS); returns the previous value.

    >>> from padstride.engine import set_workers
    >>> old = set_workers(1); _ = set_workers(old)
    """
    global _WORKERS
    if n is not None and n < 1:
        raise ValueError(f"workers must be >= 1, got {n}")
    old, _WORKERS = _WORKERS, n
    return old


_Block = TypeVar("_Block")


def run(blocks: Iterable[_Block], work: Callable[[_Block], None]) -> None:
    """Call ``work`` on every block (a row range, or whatever ``work`` takes: a group of ranges), in
    parallel where :func:`workers` > 1 and threadpoolctl is present.

    Every thread (the calling one too) takes the next block from one shared queue until none is
    left: one hand-over per thread, not one per block, so small cache-sized blocks cost no more than
    large ones, and a thread that starts late (its core busy elsewhere) leaves its blocks to the
    others instead of making them wait. Called from inside a run (a block's own padding, say), it
    runs them in turn, rather than wait on its own pool.
    """
    todo = list(blocks)
    k = 1 if getattr(_INSIDE, "active", False) else min(workers(), len(todo))
    ctl = _controller()
    if k <= 1 or not ctl:
        for block in todo:
            work(block)
        return
    global _POOL
    if _POOL is None or _POOL._max_workers < k - 1:
        _POOL = ThreadPoolExecutor(k - 1, thread_name_prefix=_PREFIX)
    queue = iter(todo)  # shared by the threads; next() on a list iterator holds the GIL

    def drain() -> None:
        _INSIDE.active = True
        try:
            for block in queue:
                work(block)
        finally:
            _INSIDE.active = False

    with ctl.limit(limits=1, user_api="blas"):
        futures = [_POOL.submit(drain) for _ in range(k - 1)]
        try:
            drain()
        finally:
            for future in futures:
                future.result()
