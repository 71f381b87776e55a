"""padstride vs torchinfo over the whole model zoo of ``tests/zoo`` (run in the zoo venv), in one process.

Per model, at the larger of its two zoo sizes (mostly 131, vit-like 144, some 160), batch 1, one
CPU thread for both tools: each tool is called once to warm up, then timed (garbage collector
paused, as ``timeit`` does); padstride once more under ``tracemalloc`` for its peak of Python
allocations. "Read" means exact for padstride (the
zoo test's checks: parameters, every module's shape, the output) and, for torchinfo, a summary
whose parameter total is torch's. The ONNX files are the zoo's exports, read as the zoo test does.
"""

from __future__ import annotations

import gc
import re
import resource
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn: Callable[[], Any]) -> dict[str, Any]:
    """Warm-up call, then a timed one; the error of the first failing call, if any."""
    try:
        fn()
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"}
    gc.collect()
    base = _rss_mb()
    gc.disable()
    start = time.perf_counter()
    try:
        result = fn()
    finally:
        seconds = time.perf_counter() - start
        gc.enable()
    return {"seconds": seconds, "rss_growth_mb": _rss_mb() - base, "result": result}


def _path(summary: Any) -> str:
    """Which reader produced the summary: ``trace`` (the stand-in fast path) or ``meta`` (the fallback)."""
    for owner in (summary, getattr(summary, "graph", None)):
        for attr in ("path", "reader", "torch_path"):
            value = getattr(owner, attr, None)
            if isinstance(value, str):
                return value
    return "unknown"


def run(only: set[str] | None = None) -> dict[str, Any]:
    """One row per zoo model, and the ONNX coverage."""
    import torch
    import torchinfo
    from tests.zoo._zoo import MODELS, build
    from tests.zoo.test_zoo_torch import check_model

    from padstride.analysis import analyze

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    rows: list[dict[str, Any]] = []
    for zoo, models in MODELS.items():
        for name, sizes in models.items():
            if only and name not in only:
                continue
            size = sizes[-1]  # the larger of the model's two zoo sizes
            row: dict[str, Any] = {"zoo": zoo, "model": name, "size": size}
            rows.append(row)
            model, shape = build(zoo, name, size)
            params = sum(p.numel() for p in model.parameters())
            p = _timed(lambda model=model, shape=shape: analyze(model, shape))
            summary = p.pop("result", None)
            row["padstride"] = p
            if summary is not None:
                tracemalloc.start()
                analyze(model, shape)
                p["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
                p["path"] = _path(summary)
                try:
                    check_model(zoo, name, size)
                    p["exact"] = True
                except Exception as exc:
                    p["exact"], p["why"] = False, (str(exc).splitlines() or [type(exc).__name__])[0][:160]
            t = _timed(lambda model=model, shape=shape: torchinfo.summary(model, (1, *shape), verbose=0, device="cpu"))
            result = t.pop("result", None)
            row["torchinfo"] = t
            if result is not None:
                t["exact"] = result.total_params == params
            print(zoo, name, {k: v for k, v in p.items() if k != "why"}, t.get("seconds", t.get("error")),
                  file=sys.stderr, flush=True)
    onnx = _onnx(only)
    return {"rows": rows, "onnx": onnx}


def _onnx(only: set[str] | None) -> dict[str, Any]:
    import tempfile

    from tests.zoo.test_zoo_onnx import EXPORTS, test_exported_zoo_model_matches_onnxruntime

    out: dict[str, Any] = {}
    for name, size in EXPORTS.items():
        if only and name not in only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            try:
                test_exported_zoo_model_matches_onnxruntime(name, size, Path(tmp))
                out[name] = "read"
            except Exception as exc:
                out[name] = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
    return out


def coverage(zoo: dict[str, Any]) -> str:
    """Markdown: models read / tried per zoo, for padstride and torchinfo."""
    lines = ["| zoo | models tried | padstride reads exactly | torchinfo reads |", "|---|---:|---:|---:|"]
    for kind in ("torchvision", "timm"):
        rows = [r for r in zoo["rows"] if r["zoo"] == kind]
        ps = sum(1 for r in rows if r["padstride"].get("exact"))
        ti = sum(1 for r in rows if r["torchinfo"].get("exact"))
        lines.append(f"| {kind} | {len(rows)} | {ps} | {ti} |")
    onnx = zoo["onnx"]
    lines.append(f"| torchvision exported to ONNX | {len(onnx)} | {sum(v == 'read' for v in onnx.values())} | — |")
    refused = {k: v for k, v in onnx.items() if v != "read"}
    if refused:
        lines.append("\nONNX files not read: " + "; ".join(f"`{k}`: {v}" for k, v in refused.items()) + ".")
    return "\n".join(lines)


def render(zoo: dict[str, Any]) -> str:
    """Markdown for docs/performance.md: speed-ups, slow cases, memory, paths, coverage."""
    both = [r for r in zoo["rows"] if "seconds" in r["padstride"] and "seconds" in r["torchinfo"]]
    ratios = sorted(((r["torchinfo"]["seconds"] / r["padstride"]["seconds"], r) for r in both), key=lambda x: x[0])
    exact = [r for r in zoo["rows"] if r["padstride"].get("exact")]
    peaks = [r["padstride"]["tracemalloc_peak_mb"] for r in zoo["rows"] if "tracemalloc_peak_mb" in r["padstride"]]
    growth = [r["padstride"]["rss_growth_mb"] for r in zoo["rows"] if "rss_growth_mb" in r["padstride"]]
    paths: dict[str, int] = {}
    for r in exact:
        paths[r["padstride"]["path"]] = paths.get(r["padstride"]["path"], 0) + 1
    lines = [coverage(zoo), ""]
    if ratios:
        med = statistics.median(x for x, _ in ratios)
        slow = [f"{r['zoo']}/{r['model']} ({x:.2f}×)" for x, r in ratios if x < 1]
        lines += [
            f"Over the {len(ratios)} zoo models both tools ran (padstride's call ran, exact or not): median speed-up "
            f"**{med:.1f}×** (target ≥ 10×: {'met' if med >= 10 else 'not met'}); slowest ratio {ratios[0][0]:.2f}× "
            f"({ratios[0][1]['zoo']}/{ratios[0][1]['model']}); fastest {ratios[-1][0]:.0f}×.",
            f"Models where padstride is slower than torchinfo: {', '.join(slow) if slow else 'none'}.",
        ]
    if peaks:
        lines.append(f"padstride's memory: peak RSS growth during the call median {statistics.median(growth):.1f} MB, "
                     f"max {max(growth):.1f} MB; Python allocations (tracemalloc) median "
                     f"{statistics.median(peaks):.2f} MB, max {max(peaks):.2f} MB.")
    lines.append("Reader path of the models read exactly: " + ", ".join(
        f"{k} {v} ({v / max(len(exact), 1):.0%})" for k, v in sorted(paths.items())) +
        (" — TODO: the Summary field naming the fast path or the meta fallback is not on main yet." if
         "unknown" in paths else "."))
    lines += ["", "One process, both tools warmed up on each model, one CPU thread, the larger zoo size of each "
              "model (mostly 131), batch 1, on a 2-core machine with no other job running (noisy all the same: "
              "single numbers mean little; ratios between the two tools measured back to back are what counts). "
              "At 131 px torchinfo's real forward is cheap; padstride's read does not grow with the input size."]
    return "\n".join(lines)


def write_coverage(zoo: dict[str, Any]) -> None:
    """Put the coverage table between the markers of docs/analysis.md."""
    doc = ROOT / "docs" / "analysis.md"
    begin, end = "<!-- begin zoo-coverage -->", "<!-- end zoo-coverage -->"
    text = doc.read_text()
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    doc.write_text(pattern.sub(lambda _: f"{begin}\n{coverage(zoo)}\n{end}", text))
