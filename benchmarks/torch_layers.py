"""padstride.torch layers against the native op and a timm-style per-forward ``F.pad`` layer.

Cases (ratios of medians, measured in the same run, interleaved):

1. stride 1, ``same``: padstride ``Conv2d(padding="same")`` vs ``nn.Conv2d(padding=1)``
   (target ≤ 1.02×: the layer *is* the native op).
2. stride 2, odd input: padstride vs ``Conv2dSame`` below, written the way timm's
   ``Conv2dSame`` pads (``F.pad`` every forward) (target ≤ 1.0×: TF pads are symmetric on odd
   input, so padstride hands them to the native op). The even input (asymmetric pads, both pad)
   is reported too.
3. average pooling ``same``: padstride ``AvgPool2d(3, 2, "same")`` (native ceil-mode path) vs the
   always-exact pad + sum-pool ÷ count-map.
4. forward + backward of a small ResNet-style block (batch 32, 112×112): padstride vs timm-style.
5. ``torch.compile(dynamic=True)`` (inductor) of a small CNN (:func:`small_cnn`): padstride's layers
   in TF ``same`` vs the same network of ``nn`` layers with PyTorch's symmetric pads (same shapes).
   Compile time (target ≤ 1.5×) is measured in a fresh subprocess per network, with inductor's
   caches off and a new cache folder, networks alternating; then, in the same subprocess, the
   compiled network runs two more input sizes (no recompilation: one graph). The steady-state
   forward of the compiled networks is timed in this process, rounds interleaved (target ≤ 1.05×),
   with a third, like-for-like peer: the same network of ``nn`` layers computing TF ``same`` by hand
   (``F.pad`` per forward, as timm does), which separates the price of TF's pads from padstride's.

Run: ``python -m benchmarks torch_layers``.
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import padstride.torch as pt
from padstride.geometry.padding import same_total

from ._report import ROOT, write_results


class Conv2dSame(nn.Conv2d):
    """TF ``same`` the way timm's ``Conv2dSame`` does it: compute the pads and ``F.pad`` every forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        pad_h = max((math.ceil(ih / self.stride[0]) - 1) * self.stride[0] + (kh - 1) * self.dilation[0] + 1 - ih, 0)
        pad_w = max((math.ceil(iw / self.stride[1]) - 1) * self.stride[1] + (kw - 1) * self.dilation[1] + 1 - iw, 0)
        if pad_h > 0 or pad_w > 0:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _same_pads(sizes: Sequence[int], k: int, s: int) -> list[int]:
    """``F.pad``'s list of TF ``same`` pads (last axis first). The total is :func:`same_total`'s
    branch-free form, which ``torch.compile(dynamic=True)`` simplifies (with timm's ``math.ceil`` form
    the compile of :func:`small_cnn` takes many minutes)."""
    pads: list[int] = []
    for n in reversed(sizes):
        total = same_total(n, k, s)
        pads += [total // 2, total - total // 2]
    return pads


class Conv2dTfPads(nn.Conv2d):
    """TF ``same`` in plain torch: ``F.pad`` (:func:`_same_pads`) every forward, then the native conv."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        return F.conv2d(F.pad(x, _same_pads(x.shape[-2:], k, s)), self.weight, self.bias, s)


class MaxPool2dSame(nn.Module):
    """TF ``same`` max pooling the way timm's ``MaxPool2dSame`` does it: ``F.pad`` with −∞ every forward."""

    def __init__(self, k: int, s: int) -> None:
        super().__init__()
        self.k, self.s = k, s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(F.pad(x, _same_pads(x.shape[-2:], self.k, self.s), value=-math.inf), self.k, self.s)


class AvgPool2dSame(nn.Module):
    """TF ``same`` average pooling in plain torch, always exact (:func:`avg_pool_same_exact`)."""

    def __init__(self, k: int, s: int) -> None:
        super().__init__()
        self.k, self.s = k, s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return avg_pool_same_exact(x, self.k, self.s)


def avg_pool_same_exact(x: torch.Tensor, k: int, s: int) -> torch.Tensor:
    """TF ``same`` average pooling, always exact: pad, sum-pool, divide by the pooled count of real cells."""
    pads = _same_pads(x.shape[-2:], k, s)
    ones = torch.ones((1, 1, *x.shape[-2:]), dtype=x.dtype)
    return F.avg_pool2d(F.pad(x, pads), k, s) / F.avg_pool2d(F.pad(ones, pads), k, s)


class Block(nn.Module):
    """conv3×3 s2 → BN → ReLU → conv3×3 → BN, + conv1×1 s2 shortcut, ReLU (ResNet basic block)."""

    def __init__(self, conv: Callable[..., nn.Module], cin: int, cout: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = conv(cin, cout, 3, stride=2), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = conv(cout, cout, 3, stride=1), nn.BatchNorm2d(cout)
        self.short, self.bn3 = conv(cin, cout, 1, stride=2), nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + self.bn3(self.short(x)))


def small_cnn(kind: str) -> nn.Module:
    """Eight conv/pool layers at strides 1 and 2: padstride's in TF ``same`` (``padstride``), ``nn``'s with
    ``k // 2`` pads (``nn``), or ``nn``'s with TF ``same`` pads written by hand as timm does (``nn_tf``)."""
    torch.manual_seed(0)
    max_pool: nn.Module
    avg_pool: nn.Module
    if kind == "padstride":
        def conv(i: int, o: int, k: int, s: int = 1) -> nn.Module:
            return pt.Conv2d(i, o, k, s, padding="same")

        max_pool, avg_pool = pt.MaxPool2d(3, 2, "same"), pt.AvgPool2d(3, 2, "same")
    elif kind == "nn_tf":
        def conv(i: int, o: int, k: int, s: int = 1) -> nn.Module:
            return Conv2dTfPads(i, o, k, s) if s > 1 and k > 1 else nn.Conv2d(i, o, k, s, padding=k // 2)

        max_pool, avg_pool = MaxPool2dSame(3, 2), AvgPool2dSame(3, 2)
    else:
        def conv(i: int, o: int, k: int, s: int = 1) -> nn.Module:
            return nn.Conv2d(i, o, k, s, padding=k // 2)

        max_pool, avg_pool = nn.MaxPool2d(3, 2, 1), nn.AvgPool2d(3, 2, 1, count_include_pad=False)
    return nn.Sequential(
        conv(3, 16, 3, 2), nn.ReLU(), conv(16, 16, 3), nn.ReLU(), max_pool,
        conv(16, 32, 3, 2), nn.ReLU(), conv(32, 32, 1, 2), avg_pool,
        conv(32, 64, 3, 2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    ).eval()


COMPILE_SIZES = ((96, 98), (101, 87), (128, 127))


def _cpu_seconds() -> float:
    """This process's CPU time plus its finished children's (inductor's C++ compiler runs)."""
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + child.ru_utime + child.ru_stime


def compile_child(kind: str) -> dict[str, Any]:
    """In this (fresh) process: compile :func:`small_cnn` with ``dynamic=True``; time it; check it."""
    from torch._dynamo.utils import counters

    torch.set_num_threads(1)
    model = small_cnn(kind)
    compiled = torch.compile(model, dynamic=True)
    xs = [torch.randn(8, 3, *size) for size in COMPILE_SIZES]
    out: dict[str, Any] = {}
    with torch.no_grad():
        model(xs[0])  # eager warm-up: the compile timing starts with torch loaded
        cpu, wall = _cpu_seconds(), time.perf_counter()
        compiled(xs[0])
        out["compile_s"], out["compile_cpu_s"] = time.perf_counter() - wall, _cpu_seconds() - cpu
        later = []
        for x in xs[1:]:
            start = time.perf_counter()
            torch.testing.assert_close(compiled(x), model(x))
            later.append(time.perf_counter() - start)
    out["later_s"] = later
    out["graphs"] = int(counters["stats"]["unique_graphs"])
    return out


def compiled_steps(number: int, rounds: int) -> dict[str, dict[str, float]]:
    """Steady-state forward of the compiled networks (padstride, nn, nn_tf), one thread, rounds interleaved
    in this process: median wall and CPU seconds per call (CPU time is the forward's own on a shared machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    eager = {kind: small_cnn(kind) for kind in ("padstride", "nn", "nn_tf")}
    x = torch.randn(8, 3, *COMPILE_SIZES[-1])
    with torch.no_grad():  # the like-for-like peer computes what padstride computes
        torch.testing.assert_close(eager["nn_tf"](x), eager["padstride"](x))
    models = {kind: torch.compile(model, dynamic=True) for kind, model in eager.items()}
    wall: dict[str, list[float]] = {kind: [] for kind in models}
    cpu: dict[str, list[float]] = {kind: [] for kind in models}
    with torch.no_grad():
        for model in models.values():
            model(torch.randn(8, 3, *COMPILE_SIZES[0]))
            _timeit(lambda model=model: model(x), number)
        for _ in range(rounds):
            for kind, model in models.items():
                start = time.process_time()
                wall[kind].append(_timeit(lambda model=model: model(x), number))
                cpu[kind].append((time.process_time() - start) / number)
    torch.set_num_threads(threads)
    return {kind: {"wall_s": statistics.median(wall[kind]), "cpu_s": statistics.median(cpu[kind])} for kind in models}


def _run_child(kind: str) -> dict[str, Any]:
    env = dict(os.environ, TORCHINDUCTOR_FX_GRAPH_CACHE="0", TORCHINDUCTOR_AUTOGRAD_CACHE="0",
               TORCHINDUCTOR_CACHE_DIR=tempfile.mkdtemp(prefix="padstride-bench-"))
    cmd = [sys.executable, "-m", "benchmarks.torch_layers", "--compile-child", kind]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def compile_case(quick: bool) -> tuple[list[tuple[str, str, str, float, float, str]], dict[str, Any]]:
    """Compile time and steady-state forward of :func:`small_cnn`, padstride vs nn, subprocesses alternating."""
    runs: dict[str, list[dict[str, Any]]] = {"padstride": [], "nn": []}
    for _ in range(1 if quick else 2):
        for kind in ("nn", "padstride"):
            runs[kind].append(_run_child(kind))
            print(f"  compile {kind}: {runs[kind][-1]}", flush=True)
    steps = compiled_steps(*((5, 5) if quick else (10, 15)))

    def median(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[kind])

    size = "×".join(map(str, COMPILE_SIZES[-1]))
    label = "small CNN (8 conv/pool layers), torch.compile(dynamic=True)"
    peer = "same CNN of nn layers"
    rows = [
        (f"{label}: compile, wall", peer, "(info)", median("padstride", "compile_s"), median("nn", "compile_s"),
         "compile"),
        (f"{label}: compile, CPU", peer, "≤ 1.5", median("padstride", "compile_cpu_s"), median("nn", "compile_cpu_s"),
         "compile"),
        (f"{label}: compiled forward, 8×3×{size}, wall", peer, "(info)", steps["padstride"]["wall_s"],
         steps["nn"]["wall_s"], "fwd"),
        (f"{label}: compiled forward, 8×3×{size}, CPU", peer, "≤ 1.05", steps["padstride"]["cpu_s"],
         steps["nn"]["cpu_s"], "fwd"),
        (f"{label}: compiled forward, 8×3×{size}, CPU", "same CNN of nn layers with TF pads by hand (timm-style)",
         "(like for like)", steps["padstride"]["cpu_s"], steps["nn_tf"]["cpu_s"], "fwd"),
        (f"{label}: compiled forward, 8×3×{size}, CPU: the price of TF pads in plain torch",
         "same CNN of nn layers", "(info)", steps["nn_tf"]["cpu_s"], steps["nn"]["cpu_s"], "fwd"),
    ]
    graphs = {kind: [r["graphs"] for r in rs] for kind, rs in runs.items()}
    return rows, {"runs": runs, "graphs": graphs, "steps": steps}


def _timeit(fn: Callable[[], Any], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def compare(cases: dict[str, Callable[[], Any]], number: int, rounds: int) -> dict[str, float]:
    """Median seconds per call of each case, rounds interleaved so drift hits all alike."""
    for fn in cases.values():  # warm-up
        _timeit(fn, max(1, number // 2))
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            samples[name].append(_timeit(fn, number))
    return {name: statistics.median(v) for name, v in samples.items()}


def _forward(module: nn.Module, x: torch.Tensor) -> Callable[[], Any]:
    def run() -> Any:
        with torch.no_grad():
            return module(x)

    return run


def _secs(seconds: float, kind: str) -> str:
    return f"{seconds:.1f} s" if kind == "compile" else f"{seconds * 1e3:.2f} ms"


def main(quick: bool = False) -> dict[str, Any]:
    torch.manual_seed(0)
    rounds = 3 if quick else 9
    results: dict[str, Any] = {}
    rows: list[tuple[str, str, str, float, float, str]] = []

    # 1. stride 1, same vs native padding=1
    x = torch.randn(8, 64, 56, 56)
    native = nn.Conv2d(64, 64, 3, padding=1).eval()
    ours = pt.Conv2d(64, 64, 3, padding="same").eval()
    ours.load_state_dict(native.state_dict())
    t = compare({"padstride": _forward(ours, x), "native": _forward(native, x)}, 5, rounds)
    rows.append(("conv 3×3 s1 same, 8×64×56×56", "nn.Conv2d(padding=1)", "≤ 1.02", t["padstride"], t["native"], "fwd"))

    # 2. stride 2, odd and even input vs timm-style per-forward F.pad
    for size, label in ((57, "odd"), (56, "even")):
        x = torch.randn(8, 64, size, size)
        timm_like = Conv2dSame(64, 128, 3, stride=2).eval()
        ours = pt.Conv2d(64, 128, 3, stride=2, padding="same").eval()
        ours.load_state_dict(timm_like.state_dict())
        torch.testing.assert_close(ours(x), timm_like(x))
        t = compare({"padstride": _forward(ours, x), "timm-style": _forward(timm_like, x)}, 5, rounds)
        target = "≤ 1.0" if label == "odd" else "(info)"
        rows.append((f"conv 3×3 s2 same, {label} 8×64×{size}×{size}", "Conv2dSame (F.pad per forward)", target,
                     t["padstride"], t["timm-style"], "fwd"))

    # 3. average pooling, TF same (divisor = real cells)
    x = torch.randn(8, 64, 56, 56)
    pool = pt.AvgPool2d(3, 2, "same")
    torch.testing.assert_close(pool(x), avg_pool_same_exact(x, 3, 2))
    t = compare({"padstride": _forward(pool, x), "exact": lambda: avg_pool_same_exact(x, 3, 2)}, 10, rounds)
    rows.append(("avg pool 3×3 s2 same, 8×64×56×56", "pad + sum-pool ÷ count", "(info)", t["padstride"], t["exact"],
                 "fwd"))

    # 4. forward + backward of a ResNet-style block, batch 32, 112×112
    batch = 8 if quick else 32
    for size in (112, 113):
        x = torch.randn(batch, 16, size, size)
        ours_block = Block(lambda *a, **k: pt.Conv2d(*a, padding="same", **k), 16, 32)
        timm_block = Block(lambda *a, **k: Conv2dSame(*a, **k), 16, 32)
        timm_block.load_state_dict(ours_block.state_dict())

        def step(block: nn.Module, x: torch.Tensor = x) -> Callable[[], Any]:
            def run() -> None:
                block.zero_grad(set_to_none=True)
                block(x).sum().backward()

            return run

        t = compare({"padstride": step(ours_block), "timm-style": step(timm_block)}, 2, max(3, rounds // 2))
        target = "≤ 1.0" if size % 2 else "(info)"
        rows.append((f"ResNet block fwd+bwd, {batch}×16×{size}×{size}", "same block with Conv2dSame", target,
                     t["padstride"], t["timm-style"], "fwd+bwd"))

    # 5. torch.compile(dynamic=True): compile time and the compiled forward, in fresh subprocesses
    compile_rows, results["compile"] = compile_case(quick)
    rows += compile_rows

    table = ["| case | peer | target | padstride | peer | ratio |", "|---|---|---|---:|---:|---:|"]
    payload_rows = []
    for case, peer, target, ours_s, peer_s, kind in rows:
        ratio = ours_s / peer_s
        table.append(f"| {case} | {peer} | {target} | {_secs(ours_s, kind)} | {_secs(peer_s, kind)} | {ratio:.3f}× |")
        payload_rows.append({"case": case, "peer": peer, "target": target, "kind": kind,
                             "padstride_s": ours_s, "peer_s": peer_s, "ratio": ratio})
        print(f"{case:<45} vs {peer:<32} {ratio:6.3f}×  (target {target})")
    results["rows"] = payload_rows
    notes = (
        "\n\nRatio = padstride time ÷ peer time, medians of interleaved rounds in one process (CPU). "
        "Stride 1 `same` builds the native op with `padding=1` (no per-forward work). At stride 2 the TF "
        "pads of an odd input are symmetric, so padstride passes them to the native conv instead of "
        "copying the input with `F.pad`; an even input needs (0, 1) and both pad. Average pooling `same` "
        "uses `avg_pool(padding=pad_before, ceil_mode=True, count_include_pad=False)` where the geometry "
        "proves it exact. "
        "torch.compile rows: one fresh subprocess per network (inductor caches off, a new cache folder), "
        "networks alternating, medians of "
        f"{len(results['compile']['runs']['nn'])} each; CPU = the process's and its compiler children's CPU time "
        "(steadier than wall time on a shared machine). Compiled forward: both networks compiled in this "
        "process, one thread, rounds interleaved, medians; CPU time is the target. Graphs compiled per run: "
        f"padstride {results['compile']['graphs']['padstride']}, nn {results['compile']['graphs']['nn']} "
        f"(three input sizes, {', '.join('×'.join(map(str, s)) for s in COMPILE_SIZES)}, odd and even). "
        "The nn network pads symmetrically (PyTorch's convention), padstride's as TF: same shapes, the "
        "difference is the price of exact TF pads under a compiler that does not know the input size: "
        "the like-for-like peer, the same network of nn layers with TF pads written by hand (`F.pad` per "
        "forward, pads from `same_total`), pays the same (its ratio to nn is the row \"the price of TF pads "
        "in plain torch\"), and padstride is within a few percent of it. "
        "Where it goes (inductor kernel profile, `cpp.enable_kernel_profile`): the 3×3 stride-2 layers' pads. "
        "The native conv pads inside its own kernel but only symmetrically, and TF's pads change with the "
        "parity of the size, so the compiled graph copies each such input once with `F.pad` (fused with the "
        "previous kernel, but a wider masked write); the max pool's −∞ pad and the average pool's count map "
        "add a little. Stride-1 and 1×1 layers are the native op and cost nothing. Before issue 15's planner "
        "(layers deciding per forward, `same_total` written `((n+s−1)//s−1)·s + K`) this network compiled in "
        "367 s of CPU against nn's 21 s: the 1×1 stride-2 layer's SAME pads (always 0) were symbolic and "
        "nested into every later size."
    )
    if not quick:
        write_results("torch_layers", results, "\n".join(table) + notes, "padstride.torch layers")
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--compile-child"]:
        print(json.dumps(compile_child(sys.argv[2])))
    else:
        main()
