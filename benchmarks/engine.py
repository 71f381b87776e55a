"""padstride.engine against PyTorch (same threads, same pads), the seed's loop, and the GEMM roofline.

Run: ``python -m benchmarks engine``. Every ratio is padstride time / peer time, both measured in
the same run, alternating, one pair per repetition (the median pair ratio is reported, which
keeps a noisy shared machine from favouring either side). Each side runs in its own worker
process: in a shared process, whichever side allocates decides whether the other reuses memory or
faults in fresh pages (glibc returns large freed blocks to the system), which moved torch's times
by up to 70% either way. The conv cases run twice: with glibc's defaults, and with glibc keeping
freed memory (``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_``) so that neither side pays
page faults — that is where the 224² case's outputs (205 MB per call) stop dominating. Each timed
call follows an untimed call of the same side, so it runs in the steady state of a program that
calls the op in a loop, and neither side pays for what the other left behind: torch's OpenMP
threads spin for milliseconds after each call (libgomp's default wait policy), which took one of
the two cores from the padstride call that followed (28² depthwise: 7.0 ms in such pairs, 4.4 ms
alone, 4.4 ms in pairs with torch's ``OMP_WAIT_POLICY=PASSIVE``).

Every measurement (timed pairs, the matmul roofline, the NumPy floors) runs in worker processes
started without the ``OPENBLAS_*`` variables of the calling shell: ``OPENBLAS_CORETYPE=Haswell``
makes OpenBLAS run AVX2 kernels on an AVX-512 machine (1.5–2× slower GEMMs), and
``OPENBLAS_NUM_THREADS`` caps the threads. ``PADSTRIDE_BENCH_BLAS_ENV=keep`` keeps them; the
results record what was removed and which kernel ran.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

REPS = int(os.environ.get("PADSTRIDE_BENCH_REPS", "7"))


def _time(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def paired(ours: Callable[[], object], peer: Callable[[], object], reps: int = REPS,
           inner: int = 1) -> dict[str, float]:
    """Median times and the median of per-repetition ratios ours/peer (after one warm-up each);
    ``inner`` calls of ``ours`` per repetition for ops too short to time alone."""
    ours(), peer()
    a, b = [], []
    for _ in range(reps):
        a.append(_time(lambda: [ours() for _ in range(inner)]) / inner)
        b.append(_time(peer))
    return _pair_stats(a, b)


def _pair_stats(a: list[float], b: list[float]) -> dict[str, float]:
    """Median times (ms) of both sides and the median of the per-repetition ratios ours/peer."""
    ratios = [x / y for x, y in zip(a, b, strict=True)]
    return {"ours_ms": statistics.median(a) * 1e3, "peer_ms": statistics.median(b) * 1e3,
            "ratio": statistics.median(ratios)}


def threads() -> dict[str, Any]:
    """Give NumPy's BLAS torch's thread count; report the OpenBLAS kernel that runs (in this process)."""
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    n = int(os.environ.get("PADSTRIDE_BENCH_THREADS", torch.get_num_threads()))
    torch.set_num_threads(n)
    threadpool_limits(n, user_api="blas")
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    return {"torch_threads": n, "numpy_blas_threads": [i["num_threads"] for i in blas],
            "blas": [f"{i['internal_api']} {i.get('version')} {i.get('architecture')}" for i in blas],
            **{k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")}}


def blas_env() -> dict[str, str | None]:
    """The workers' environment changes: the shell's ``OPENBLAS_*`` variables removed (``None``),
    unless ``PADSTRIDE_BENCH_BLAS_ENV=keep``."""
    if os.environ.get("PADSTRIDE_BENCH_BLAS_ENV") == "keep":
        return {}
    return {k: None for k in os.environ if k.startswith("OPENBLAS_")}


def roofline(size: int = 2048) -> float:
    """Measured float32 ``np.matmul`` GFLOP/s (best of 5) on square matrices."""
    a = np.random.default_rng(0).random((size, size), np.float32)
    a @ a
    best = min(_time(lambda: a @ a) for _ in range(5))
    return 2 * size**3 / best / 1e9


CONV_CASES = [
    # name, x shape, w shape, stride, groups
    ("224² C3→32 k3 s1 same", (32, 3, 224, 224), (32, 3, 3, 3), 1, 1),
    ("56² C64→64 k3 s1 same", (32, 64, 56, 56), (64, 64, 3, 3), 1, 1),
    ("56² C64→128 k3 s2 same", (32, 64, 56, 56), (128, 64, 3, 3), 2, 1),
    ("28² C128 depthwise k3 same", (32, 128, 28, 28), (128, 1, 3, 3), 1, 128),
    ("64³ C16→16 k3 s1 same (3-D)", (8, 16, 64, 64, 64), (16, 16, 3, 3, 3), 1, 1),
]


def conv_case(name: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """``(ours, peer)`` for one conv case: padstride, and torch padded the same way (native pads if symmetric)."""
    import torch
    import torch.nn.functional as F

    from padstride import engine, geometry

    xs, ws, stride, groups = next(c[1:] for c in CONV_CASES if c[0] == name)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs, np.float32), rng.standard_normal(ws, np.float32)
    geo = geometry.conv(xs[2:], ws[2:], stride, "same")
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)
    op = F.conv3d if len(xs) == 5 else F.conv2d
    pads = [a.pad_before for a in geo]
    fpad = [p for a in reversed(geo.axes) for p in a.pads]

    def peer() -> Any:
        if geo.symmetric:
            return op(xt, wt, stride=stride, padding=pads, groups=groups)
        return op(F.pad(xt, fpad), wt, stride=stride, groups=groups)

    def ours() -> Any:
        return engine.conv(x, w, stride=stride, padding="same", groups=groups)

    return ours, peer


def _cpu_time(fn: Callable[[], object]) -> float:
    c0 = time.process_time()
    fn()
    return time.process_time() - c0


def floor_ms(name: str, threads: int, reps: int = 3) -> dict[str, Any]:
    """The time of the NumPy operations a case's planned path cannot avoid, each measured alone.

    GEMM paths: every ``np.matmul`` of the plan at its exact shape (operands contiguous and in
    cache, one thread, best of ``reps`` in process CPU time, so that other jobs on the machine do
    not count), times its number of calls (depthwise: one batched GEMM per block of channels).
    Divided by ``threads`` (perfect scaling), this is a
    lower bound on padstride's time with NumPy's kernels on this machine, whatever the copies cost.
    ``pad_ms``: the one copy every path makes, the input into its padded buffer (same timing).
    """
    from threadpoolctl import threadpool_limits

    from padstride import engine, geometry
    from padstride.engine import Path
    from padstride.engine.convolution import padded_buffer

    xs, ws, stride, groups = next(c[1:] for c in CONV_CASES if c[0] == name)
    p = engine.conv_plan(np.zeros(xs, np.float32), np.zeros(ws, np.float32), stride=stride, padding="same",
                         groups=groups)
    geo = geometry.conv(xs[2:], ws[2:], stride, "same")
    cout, cin_g, taps = ws[0] // groups, ws[1], int(np.prod(ws[2:]))
    out_row = int(np.prod(geo.output[1:]))  # exact positions of one output row
    wide_row = int(np.prod([a.padded_input for a in geo][1:]))  # positions of one padded row (wide views)
    gemms: dict[tuple[int, int, int, int], int] = {}  # (batch, M, K, N) -> calls
    for n0, n1, r0, r1 in p.blocks:
        images, rows = n1 - n0, r1 - r0
        if p.path is Path.DIRECT:
            key, calls = (groups, cout, cin_g * taps, rows * out_row), images
        elif p.path is Path.SHIFTED:
            into = p.into_output and geo.ndim == 2 and rows == geo.output[0]
            key = (groups, cout, cin_g * ws[-1], rows * (out_row if into else wide_row))
            calls = images * taps // ws[-1]
        elif p.path is Path.STACKED:  # one GEMM per image: rows the second-last axis' taps, columns the others
            k_stacked = ws[-2]  # positions: every padded cell but the last axis' tails
            narrow_row = int(np.prod([a.padded_input for a in geo.axes[1:-1]])) * geo.output[-1]
            reach = (k_stacked - 1) * geo.axes[-2].dilation * geo.output[-1]
            key, calls = (groups, k_stacked * cout, cin_g * taps // k_stacked, rows * narrow_row + reach), images
        elif p.path is Path.IM2COL:
            key, calls = (groups, cout, cin_g * taps, images * rows * (wide_row if p.wide else out_row)), 1
        elif p.path is Path.CHANNELS_LAST:  # (positions, K) @ (K, C_out/groups)
            key, calls = (groups, images * rows * out_row, cin_g * taps, cout), 1
        elif p.path is Path.DEPTHWISE:  # blocks of channels (n0, n1) × images (r0, r1): one GEMM per channel
            padded_image = int(np.prod([a.padded_input for a in geo]))
            span = (rows - 1) * padded_image + geo.output[0] * wide_row if p.wide else rows * int(np.prod(geo.output))
            key, calls = (images, cout, taps, span), 1
        else:
            continue
        gemms[key] = gemms.get(key, 0) + calls
    total = 0.0
    with threadpool_limits(1, user_api="blas"):
        for (g, m, k, n), calls in gemms.items():
            a, b, c = np.ones((g, m, k), np.float32), np.ones((g, k, n), np.float32), np.empty((g, m, n), np.float32)
            total += calls * min(_cpu_time(lambda a=a, b=b, c=c: np.matmul(a, b, out=c)) for _ in range(reps))
        x = np.random.default_rng(0).standard_normal(xs, np.float32)
        pad = min(_cpu_time(lambda: padded_buffer(x, geo.pads, x.dtype, "constant", p.slack)) for _ in range(reps))
    return {"path": p.path.value, "floor_ms": total / threads * 1e3, "pad_ms": pad / threads * 1e3}


def conv_cases(peak: float, env: dict[str, str | None] | None = None,
               floors: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    rows = []
    floors = floors or {}
    with Workers(env) as workers:
        for name, xs, ws, _, _ in CONV_CASES:
            nd = len(xs) - 2
            ours, peer = conv_case(name)
            got, want = ours(), peer().numpy()
            err = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))
            del ours, peer, want
            r = workers.paired("conv", name, REPS if nd == 2 else max(3, REPS // 2))
            flops = 2 * got.size * ws[1] * int(np.prod(ws[2:]))
            gf = flops / (r["ours_ms"] / 1e3) / 1e9
            floor = floors.get(name, {})
            floor_ratio = floor["floor_ms"] / r["peer_ms"] if floor else float("nan")
            pad_ratio = (floor["floor_ms"] + floor["pad_ms"]) / r["peer_ms"] if floor else float("nan")
            rows.append({"case": name, **r, "gflops": gf, "roofline_fraction": gf / peak,
                         "torch_gflops": flops / (r["peer_ms"] / 1e3) / 1e9, "rel_err": err, "ndim": nd,
                         "path": floor.get("path"), "floor_ms": floor.get("floor_ms"), "floor_ratio": floor_ratio,
                         "pad_ms": floor.get("pad_ms"), "floor_pad_ratio": pad_ratio})
            print(f"  {name:32s} ours {r['ours_ms']:8.1f} ms  torch {r['peer_ms']:8.1f} ms  ratio {r['ratio']:.2f}"
                  f"  CPU-time ratio {r['cpu_ratio']:.2f}  {gf:6.1f} GFLOP/s ({gf / peak:.0%} of matmul)"
                  f"  NumPy floor {floor_ratio:.2f} (with the pad {pad_ratio:.2f})", flush=True)
    return rows


def seed_case() -> dict[str, Any]:
    from padstride.engine import convolution2d

    def seed_convolution2d(image, kernel, padding="valid"):  # type: ignore[no-untyped-def]  # seed 001, slide 2
        if padding == "same":
            ph, pw = (kernel.shape[0] - 1) // 2, (kernel.shape[1] - 1) // 2
            image = np.pad(image, ((ph, ph), (pw, pw)), mode="constant")
        oh, ow = image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1
        output = np.zeros((oh, ow))
        for i in range(oh):
            for j in range(ow):
                output[i, j] = np.sum(image[i:i + kernel.shape[0], j:j + kernel.shape[1]] * kernel)
        return output

    rng = np.random.default_rng(0)
    image, kernel = rng.integers(0, 255, size=(256, 256)), rng.random((3, 3))
    assert np.allclose(seed_convolution2d(image, kernel, "same"), convolution2d(image, kernel, "same"))
    r = paired(lambda: convolution2d(image, kernel, "same"), lambda: seed_convolution2d(image, kernel, "same"), 3,
               inner=20)
    r["speedup"] = 1 / r["ratio"]
    print(f"  seed double loop 256² k3: seed {r['peer_ms']:.1f} ms, padstride {r['ours_ms']:.2f} ms,"
          f" {r['speedup']:.0f}x faster", flush=True)
    return r


POOL_CASES = ["max 112² k3 s2 pad 1", "avg 112² k2 s2", "avg 56² k3 s2 TF same (pads excluded)",
              "max 56² k3 s1 ceil_mode pad 1"]


def pool_case(name: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    import torch
    import torch.nn.functional as F

    from padstride import engine

    x = np.random.default_rng(0).standard_normal((32, 64, 112, 112), np.float32)
    if "56²" in name:
        x = np.ascontiguousarray(x[:, :, :56, :56])
    xt = torch.from_numpy(x)
    cases: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        POOL_CASES[0]: (lambda: engine.pool(x, 3, 2, 1, "max"), lambda: F.max_pool2d(xt, 3, 2, 1)),
        POOL_CASES[1]: (lambda: engine.pool(x, 2, 2, 0, "avg"), lambda: F.avg_pool2d(xt, 2, 2)),
        POOL_CASES[2]: (lambda: engine.pool(x, 3, 2, "same", "avg"),
                        lambda: F.avg_pool2d(xt, 3, 2, 0, ceil_mode=True, count_include_pad=False)),
        POOL_CASES[3]: (lambda: engine.pool(x, 3, 1, 1, "max", ceil_mode=True),
                        lambda: F.max_pool2d(xt, 3, 1, 1, ceil_mode=True)),
    }
    return cases[name]


def pool_cases() -> list[dict[str, Any]]:
    rows = []
    with Workers() as workers:
        for name in POOL_CASES:
            ours, peer = pool_case(name)
            assert np.allclose(ours(), peer().numpy(), atol=1e-5), name
            del ours, peer
            r = workers.paired("pool", name)
            rows.append({"case": name, **r})
            print(f"  pool {name:38s} ours {r['ours_ms']:7.1f} ms  torch {r['peer_ms']:7.1f} ms  "
                  f"ratio {r['ratio']:.2f}", flush=True)
    return rows


PAD_MODES = [("constant", "constant"), ("reflect", "reflect"), ("edge", "replicate"), ("circular", "circular"),
             ("symmetric", None)]


def pad_case(mode: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """``(ours, peer)``: PyTorch's ``F.pad`` where it has the mode, else ``np.pad``."""
    import torch
    import torch.nn.functional as F

    from padstride import engine

    x = np.random.default_rng(0).standard_normal((32, 64, 56, 56), np.float32)
    xt = torch.from_numpy(x)
    tmode = dict(PAD_MODES)[mode]
    if tmode is None:  # PyTorch has no symmetric mode
        return (lambda: engine.pad(x, [(3, 3), (3, 3)], mode),
                lambda: np.pad(x, [(0, 0), (0, 0), (3, 3), (3, 3)], mode="symmetric"))
    return lambda: engine.pad(x, [(3, 3), (3, 3)], mode), lambda: F.pad(xt, (3, 3, 3, 3), mode=tmode)


def pad_cases() -> list[dict[str, Any]]:
    rows = []
    with Workers() as workers:
        for mode, tmode in PAD_MODES:
            ours, peer = pad_case(mode)
            want = peer()
            assert np.array_equal(ours(), want if isinstance(want, np.ndarray) else want.numpy()), mode
            del ours, peer, want
            peer_name = "F.pad" if tmode else "np.pad"
            r = workers.paired("pad", mode)
            rows.append({"case": f"pad {mode} 3", "peer": peer_name, **r})
            print(f"  pad {mode:10s} ours {r['ours_ms']:7.1f} ms  {peer_name} {r['peer_ms']:7.1f} ms"
                  f"  ratio {r['ratio']:.2f}", flush=True)
    return rows


CASES: dict[str, Callable[[str], tuple[Callable[[], Any], Callable[[], Any]]]] = {
    "conv": conv_case, "pool": pool_case, "pad": pad_case}

#: glibc told to keep freed memory (no page faults on reuse), for the second conv table.
KEPT_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 32)}


def _faults() -> int:
    """Page faults of this process so far (minor and major)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt + usage.ru_majflt


def _worker(conn: Any, side: int, env: dict[str, str]) -> None:
    """One side (0 ours, 1 peer) of the paired timings, alone in its process: its memory allocator's
    state is its own (in one process, one side's allocations decide whether the other's reuse
    memory or fault fresh pages, which moved torch's times by up to 70%)."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = int(env["threads"])
    torch.set_num_threads(threads)
    threadpool_limits(threads, user_api="blas")
    fn: Callable[[], Any] = lambda: None  # noqa: E731
    while True:
        msg = conn.recv()
        if msg[0] == "setup":
            fn = CASES[msg[1]](msg[2])[side]
            fn()  # warm-up
            conn.send(None)
        elif msg[0] == "time":
            fn()  # settle: the other side's leftovers (spinning threads, cache) fall on this call
            f0 = _faults()
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            conn.send((time.perf_counter() - t0, time.process_time() - c0, _faults() - f0))
        elif msg[0] == "call":  # a measurement of this module in this worker's environment
            conn.send(globals()[msg[1]](*msg[2:]))
        else:
            return


class Workers:
    """Two worker processes, padstride's and the peer's, timed in turn: one pair per repetition."""

    def __init__(self, env: dict[str, str | None] | None = None) -> None:
        import multiprocessing as mp

        import torch

        ctx = mp.get_context("spawn")
        extra = {**blas_env(), **(env or {})}  # None: removed
        saved = {k: os.environ.get(k) for k in extra}
        for k, v in extra.items():  # glibc and OpenBLAS read theirs when a process starts
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        try:
            self.pipes, self.procs = [], []
            for side in (0, 1):
                here, there = ctx.Pipe()
                proc = ctx.Process(target=_worker, args=(there, side, {"threads": str(torch.get_num_threads())}))
                proc.start()
                self.pipes.append(here)
                self.procs.append(proc)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            pipe.send(("stop",))
            proc.join()

    def _call(self, side: int, msg: tuple[Any, ...]) -> Any:
        self.pipes[side].send(msg)
        return self.pipes[side].recv()

    def call(self, fn: str, *args: Any) -> Any:
        """``fn(*args)`` of this module, run in padstride's worker (its environment, its BLAS)."""
        return self._call(0, ("call", fn, *args))

    def paired(self, group: str, name: str, reps: int = REPS) -> dict[str, float]:
        """As :func:`paired`, each side in its own process."""
        for side in (0, 1):
            self._call(side, ("setup", group, name))
        a, b = [], []
        for _ in range(reps):
            a.append(self._call(0, ("time",)))
            b.append(self._call(1, ("time",)))
        stats = _pair_stats([t for t, _, _ in a], [t for t, _, _ in b])
        cpu = _pair_stats([c for _, c, _ in a], [c for _, c, _ in b])
        return {**stats, "ours_cpu_ms": cpu["ours_ms"], "peer_cpu_ms": cpu["peer_ms"], "cpu_ratio": cpu["ratio"],
                "ours_page_faults": statistics.median(f for _, _, f in a),
                "peer_page_faults": statistics.median(f for _, _, f in b)}


#: issue 15's targets: (what, rows of which table, ratio at most)
TARGETS = [("3-D", "3-D", 1.5), ("depthwise", "depthwise", 3.0)]


def _targets(payload: dict[str, Any]) -> list[str]:
    """One line per target and table: the ratio (wall time; CPU time) against the bound."""
    lines = []
    for key, label in [("conv", "glibc defaults"), ("conv_kept_malloc", "freed memory kept")]:
        got = []
        for what, match, bound in TARGETS:
            r = next(r for r in payload[key] if match in r["case"])
            got.append(f"{what} {r['ratio']:.2f} (CPU {r['cpu_ratio']:.2f}) ≤ {bound}")
        lines.append(f"- {label}: " + "; ".join(got))
    lines.append(f"- 2-D median, freed memory kept: {payload['median_ratio_2d_kept_malloc']:.2f} ≤ 1.3")
    return lines


def markdown(payload: dict[str, Any]) -> str:
    t = payload["threads"]
    removed = ", ".join(f"`{k}={v}`" for k, v in t.get("removed_from_workers", {}).items()) or "none"
    note = [f"**{payload['note']}**", ""] if payload.get("note") else []
    lines = [
        *note,
        f"Float32, {t['torch_threads']} threads for both (NumPy BLAS: {', '.join(t['blas'])}; removed from "
        f"the shell's environment: {removed}); "
        f"machine GEMM roofline (np.matmul 2048³): **{payload['roofline_gflops']:.0f} GFLOP/s**. "
        f"Ratio = padstride time / torch time in the same run (median of {REPS} alternating pairs, each side "
        "in its own process, each timed call right after an untimed one of the same side); "
        "below 1 means padstride is faster. "
        f"Load average when the run started: {payload['load_average_at_start']:.1f} on "
        f"{os.cpu_count()} cores (a shared machine: absolute times and the roofline are depressed, "
        "ratios less so).",
        "",
        "| conv case (N=32, 3-D: N=8) | path | padstride ms | torch ms | ratio | CPU-time ratio | NumPy floor | "
        "floor + pad | padstride GFLOP/s | of roofline |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in payload["conv"]:
        lines.append(f"| {r['case']} | {r.get('path')} | {r['ours_ms']:.1f} | {r['peer_ms']:.1f} | {r['ratio']:.2f} | "
                     f"{r.get('cpu_ratio', float('nan')):.2f} | {r.get('floor_ratio', float('nan')):.2f} | "
                     f"{r.get('floor_pad_ratio', float('nan')):.2f} | {r['gflops']:.1f} | "
                     f"{r['roofline_fraction']:.0%} |")
    lines += ["", f"Median ratio over the 2-D cases: **{payload['median_ratio_2d']:.2f}**.", "",
              "NumPy floor = the time of the NumPy operations the planned path cannot avoid (its GEMMs at "
              "their exact shapes), each measured alone on one "
              "thread with its operands in cache, divided by the thread count (perfect scaling), over "
              "torch's time: no im2col layout can bring the ratio below it with NumPy's kernels "
              "(`benchmarks/engine.py:floor_ms`); floor + pad adds the one copy every path makes, the "
              "input into its padded buffer. CPU-time ratio = the same pairs timed in process CPU "
              "time: robust when other jobs share the cores (wall time then measures the scheduler), but "
              "it counts torch's OpenMP threads spinning while they wait.", ""]
    if "conv_kept_malloc" in payload:
        lines += ["The same with glibc keeping freed memory for both sides (`MALLOC_MMAP_THRESHOLD_=2^30`, "
                  "`MALLOC_TRIM_THRESHOLD_=2^32`: no page faults when a buffer is allocated again):", "",
                  "| conv case, kept malloc | padstride ms | torch ms | ratio | CPU-time ratio | NumPy floor | "
                  "floor + pad | padstride GFLOP/s | of roofline |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in payload["conv_kept_malloc"]:
            lines.append(f"| {r['case']} | {r['ours_ms']:.1f} | {r['peer_ms']:.1f} | {r['ratio']:.2f} | "
                         f"{r.get('cpu_ratio', float('nan')):.2f} | {r.get('floor_ratio', float('nan')):.2f} | "
                         f"{r.get('floor_pad_ratio', float('nan')):.2f} | {r['gflops']:.1f} | "
                         f"{r['roofline_fraction']:.0%} |")
        lines += ["", f"Median ratio over the 2-D cases, kept malloc: "
                  f"**{payload['median_ratio_2d_kept_malloc']:.2f}**.", "",
                  "Targets (issue 15; ratio = padstride / torch, wall time, CPU time in brackets):", "",
                  *_targets(payload), ""]
    s = payload["seed"]
    lines += [f"Seed 001's double-loop `convolution2d`, 256×256 image, 3×3 kernel: {s['peer_ms']:.0f} ms; "
              f"padstride {s['ours_ms']:.2f} ms: **{s['speedup']:.0f}× faster** (target ≥ 100×).", "",
              "| pooling / padding | padstride ms | peer | peer ms | ratio |", "|---|---:|---|---:|---:|"]
    for r in payload["pool"]:
        lines.append(f"| {r['case']} | {r['ours_ms']:.1f} | torch | {r['peer_ms']:.1f} | {r['ratio']:.2f} |")
    for r in payload["pad"]:
        lines.append(f"| {r['case']} (32×64×56²) | {r['ours_ms']:.1f} | {r['peer']} | {r['peer_ms']:.1f} | "
                     f"{r['ratio']:.2f} |")
    return "\n".join(lines)


def floor_markdown(payload: dict[str, Any]) -> str:
    """The NumPy-floor table of ``docs/engine.md``: freed memory kept (neither side pays page faults),
    process CPU time throughout (the floors are CPU time; robust when other jobs share the cores)."""
    t = payload["threads"]
    n = t["torch_threads"]
    lines = [
        f"Generated by `python -m benchmarks engine` ({n} thread{'s' * (n > 1)}, {', '.join(t['blas'])}, "
        f"load average {payload['load_average_at_start']:.1f} on {os.cpu_count()} cores; freed memory kept; "
        "process CPU time, medians):",
        "",
        "| case | path | torch ms | padstride ms | its GEMMs alone ms | pad ms | padstride / torch | "
        "GEMMs / torch | (GEMMs + pad) / torch |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in payload["conv_kept_malloc"]:
        gemm, pad, peer = r["floor_ms"] * n, r["pad_ms"] * n, r["peer_cpu_ms"]
        lines.append(f"| {r['case']} | {r['path']} | {peer:.1f} | {r['ours_cpu_ms']:.1f} | {gemm:.1f} | {pad:.1f} | "
                     f"{r['cpu_ratio']:.2f} | {gemm / peer:.2f} | {(gemm + pad) / peer:.2f} |")
    if payload.get("note"):
        lines += ["", f"**{payload['note']}**"]
    return "\n".join(lines)


def write_doc_block(name: str, text: str, doc: str = "docs/engine.md") -> None:
    """Replace the block between ``<!-- begin NAME -->`` and ``<!-- end NAME -->`` of ``doc``."""
    import re

    from benchmarks._report import ROOT

    path = ROOT / doc
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    content = path.read_text()
    if not pattern.search(content):
        raise RuntimeError(f"{doc} has no {begin} … {end} block")
    path.write_text(pattern.sub(lambda _: f"{begin}\n{text.strip()}\n{end}", content))


def main() -> None:
    from benchmarks._report import write_results

    load = os.getloadavg()[0]
    shell = threads()
    with Workers() as workers:  # measured where the timed padstride side runs: the shell's OPENBLAS_* removed
        t = workers.call("threads")
        print(f"  threads: {t}", flush=True)
        peak = workers.call("roofline")
        print(f"  np.matmul roofline: {peak:.1f} GFLOP/s", flush=True)
        floors = {name: workers.call("floor_ms", name, t["torch_threads"]) for name, *_ in CONV_CASES}
    t["removed_from_workers"] = {k: shell.get(k) for k in blas_env()}
    payload: dict[str, Any] = {"threads": t, "roofline_gflops": peak, "reps": REPS, "load_average_at_start": load,
                               "floors": floors, "note": os.environ.get("PADSTRIDE_BENCH_NOTE")}
    payload["conv"] = conv_cases(peak, floors=floors)
    payload["median_ratio_2d"] = statistics.median(r["ratio"] for r in payload["conv"] if r["ndim"] == 2)
    print(f"  median ratio over 2-D cases: {payload['median_ratio_2d']:.2f}", flush=True)
    print("  again, glibc keeping freed memory (both sides):", flush=True)
    payload["conv_kept_malloc"] = conv_cases(peak, KEPT_MALLOC, floors)
    payload["median_ratio_2d_kept_malloc"] = statistics.median(
        r["ratio"] for r in payload["conv_kept_malloc"] if r["ndim"] == 2)
    print(f"  median ratio over 2-D cases, kept malloc: {payload['median_ratio_2d_kept_malloc']:.2f}", flush=True)
    payload["seed"] = seed_case()
    payload["pool"] = pool_cases()
    payload["pad"] = pad_cases()
    path = write_results("engine", payload, markdown(payload), "Engine: NumPy reference ops vs PyTorch")
    write_doc_block("engine-floor", floor_markdown(payload))
    print(f"  wrote {path}")


if __name__ == "__main__":
    main()
