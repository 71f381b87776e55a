"""padstride vs torchinfo over the whole model zoo of ``tests/zoo`` (run in the zoo venv), in one process.

Per model, batch 1, one CPU thread for both tools, at two input sizes: the larger of its two zoo
sizes (mostly 131, odd where the model allows; vit-like 144, some 160), and its native size (timm's
``pretrained_cfg["input_size"]``, 224 for torchvision; sides above :data:`NATIVE_CAP` are capped to
it: two timm models, at 512). Each tool is called once to warm up, then timed until it has run
:data:`REPEATS` times or for :data:`BUDGET_S` seconds (at least once), the best time kept; the
garbage collector is collected once per model and paused during all these calls, for both tools
alike, as ``timeit`` does. padstride is called once more under ``tracemalloc`` for its peak of
Python allocations (zoo size only). "Read" means exact for padstride (the zoo test's checks:
parameters, every module's shape, the output), at each size, and, for torchinfo, a summary whose
parameter total is torch's. The ONNX files are the zoo's exports, read as the zoo test does.
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

#: The largest native side measured (larger ones are measured at this size).
NATIVE_CAP = 384
#: Timed calls per tool and size, at most, after the warm-up; and the time after which no more are made.
REPEATS, BUDGET_S = 3, 0.3
#: The two measurements of a model: its zoo size and its native size.
COLUMNS = (("zoo", "zoo size (mostly 131 px)"), ("native", "native size (224 px for most)"))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"


def _timed(fn: Callable[[], Any]) -> dict[str, Any]:
    """Warm-up call, then the best of up to :data:`REPEATS` timed calls (garbage collector paused by the caller)."""
    try:
        fn()
    except Exception as exc:
        return {"error": _error(exc)}
    base = _rss_mb()
    times: list[float] = []
    result = None
    while len(times) < REPEATS and (not times or sum(times) < BUDGET_S):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return {"seconds": min(times), "calls": len(times), "rss_growth_mb": _rss_mb() - base, "result": result}


def _path(summary: Any) -> str:
    """Which reader produced the summary: ``trace`` (the stand-in fast path) or ``meta`` (the fallback)."""
    for owner in (summary, getattr(summary, "graph", None)):
        for attr in ("path", "reader", "torch_path"):
            value = getattr(owner, attr, None)
            if isinstance(value, str):
                return value
    return "unknown"


def native_size(zoo: str, name: str) -> int:
    """The side a model is made for: timm's pretrained config, 224 for torchvision; capped at :data:`NATIVE_CAP`."""
    if zoo != "timm":
        return 224
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    size = tuple(cfg.input_size) if cfg is not None and cfg.input_size else (3, 224, 224)
    return min(max(int(size[-2]), int(size[-1])), NATIVE_CAP)


def _measure(zoo: str, name: str, size: int, memory: bool) -> dict[str, Any]:
    """Both tools on one model at one size: times, exactness, reader path."""
    import torchinfo
    from tests.zoo._zoo import build
    from tests.zoo.test_zoo_torch import check_model

    from padstride.analysis import analyze

    model, shape = build(zoo, name, size)
    params = sum(p.numel() for p in model.parameters())
    out: dict[str, Any] = {"size": size}
    gc.collect()
    gc.disable()
    try:
        p = _timed(lambda: analyze(model, shape))
        t = _timed(lambda: torchinfo.summary(model, (1, *shape), verbose=0, device="cpu"))
        if memory and "result" in p:
            tracemalloc.start()
            analyze(model, shape)
            p["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    finally:
        gc.enable()
    summary, result = p.pop("result", None), t.pop("result", None)
    if summary is not None:
        p["path"] = _path(summary)
        try:
            check_model(zoo, name, size)
            p["exact"] = True
        except Exception as exc:
            p["exact"], p["why"] = False, (str(exc).splitlines() or [type(exc).__name__])[0][:160]
    if result is not None:
        t["exact"] = result.total_params == params
    out.update(padstride=p, torchinfo=t)
    return out


def run(only: set[str] | None = None) -> dict[str, Any]:
    """One row per zoo model (both sizes), and the ONNX coverage (all of it, unless ``only`` names models)."""
    import torch
    from tests.zoo._zoo import MODELS

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    import torchinfo  # noqa: F401  (imported, then frozen with the rest)
    from tests.zoo.test_zoo_torch import check_model  # noqa: F401

    import padstride.analysis  # noqa: F401

    gc.collect()
    gc.freeze()  # the libraries' objects: each model's collection then walks only what came since
    rows: list[dict[str, Any]] = []
    for zoo, models in MODELS.items():
        for name, sizes in models.items():
            if only and name not in only:
                continue
            row: dict[str, Any] = {"zoo": zoo, "model": name}
            row.update(_measure(zoo, name, sizes[-1], memory=True))  # the larger of the model's two zoo sizes
            native = native_size(zoo, name)
            row["native"] = _measure(zoo, name, native, memory=False) if native != row["size"] else {
                "size": native, "padstride": row["padstride"], "torchinfo": row["torchinfo"], "same": True}
            rows.append(row)
            for col in (row, row["native"]):
                p, t = col["padstride"], col["torchinfo"]
                print(zoo, name, col["size"], p.get("path"), p.get("exact"), p.get("seconds", p.get("error")),
                      t.get("seconds", t.get("error")), file=sys.stderr, flush=True)
    onnx = _onnx(only)
    return {"rows": rows, "onnx": onnx, "native_cap": NATIVE_CAP, "repeats": REPEATS, "budget_s": BUDGET_S}


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


def _column(zoo: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The measurements of one column (``zoo`` size or ``native`` size), one per model, with zoo and model."""
    out = []
    for r in zoo["rows"]:
        col = r if key == "zoo" else r.get("native")
        if col is not None:
            out.append({"zoo": r["zoo"], "model": r["model"], **col})
    return out


def coverage(zoo: dict[str, Any]) -> str:
    """Markdown: models read / tried per zoo, for padstride (at both sizes) and torchinfo."""
    native = any("native" in r for r in zoo["rows"])
    lines = ["| zoo | models tried | padstride reads exactly | " + ("at native size | " if native else "")
             + "torchinfo reads |", "|---|---:|---:|" + ("---:|" if native else "") + "---:|"]
    for kind in ("torchvision", "timm"):
        rows = [r for r in zoo["rows"] if r["zoo"] == kind]
        ps = sum(1 for r in rows if r["padstride"].get("exact"))
        nat = sum(1 for r in rows if r.get("native", {}).get("padstride", {}).get("exact"))
        ti = sum(1 for r in rows if r["torchinfo"].get("exact"))
        lines.append(f"| {kind} | {len(rows)} | {ps} | " + (f"{nat} | " if native else "") + f"{ti} |")
    onnx = zoo["onnx"]
    lines.append(f"| torchvision exported to ONNX | {len(onnx)} | {sum(v == 'read' for v in onnx.values())} | "
                 + ("— | " if native else "") + "— |")
    refused = {k: v for k, v in onnx.items() if v != "read"}
    if refused:
        lines.append("\nONNX files not read: " + "; ".join(f"`{k}`: {v}" for k, v in refused.items()) + ".")
    return "\n".join(lines)


def stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Speed-ups of one column: median, slowest, models slower than torchinfo, reader paths, median times."""
    both = [r for r in rows if "seconds" in r["padstride"] and "seconds" in r["torchinfo"]]
    ratios = sorted(((r["torchinfo"]["seconds"] / r["padstride"]["seconds"], r) for r in both), key=lambda x: x[0])
    paths: dict[str, list[float]] = {}
    for x, r in ratios:
        paths.setdefault(r["padstride"].get("path", "unknown"), []).append(x)
    return {
        "n": len(ratios),
        "median": statistics.median(x for x, _ in ratios) if ratios else None,
        "slowest": [(x, f"{r['zoo']}/{r['model']}") for x, r in ratios[:3]],
        "fastest": ratios[-1][0] if ratios else None,
        "slower": [(x, f"{r['zoo']}/{r['model']}") for x, r in ratios if x < 1],
        "paths": {k: (len(v), statistics.median(v)) for k, v in sorted(paths.items())},
        "padstride_ms": statistics.median(r["padstride"]["seconds"] for r in both) * 1e3 if both else None,
        "torchinfo_ms": statistics.median(r["torchinfo"]["seconds"] for r in both) * 1e3 if both else None,
        "exact": sum(1 for r in rows if r["padstride"].get("exact")),
        "sizes": sorted({r["size"] for r in rows}),
    }


def render(zoo: dict[str, Any]) -> str:
    """Markdown for docs/performance.md: speed-ups at both sizes, slow cases, paths, memory, coverage."""
    cols = [(title, stats(_column(zoo, key))) for key, title in COLUMNS if _column(zoo, key)]
    cols = [(t, c) for t, c in cols if c["n"]]
    lines = [coverage(zoo), ""]
    if cols:
        def cell(c: dict[str, Any], what: str) -> str:
            if what == "median":
                return f"**{c['median']:.1f}×**"
            if what == "slowest":
                return ", ".join(f"{x:.2f}× ({m})" for x, m in c["slowest"])
            if what == "slower":
                return str(len(c["slower"]))
            if what == "paths":
                return "; ".join(f"{k} {n} ({n / c['n']:.0%}), median {med:.1f}×" for k, (n, med) in c["paths"].items())
            if what == "times":
                return f"{c['padstride_ms']:.1f} ms / {c['torchinfo_ms']:.1f} ms"
            return f"{c['fastest']:.0f}×"
        lines += ["| over the zoo, both tools ran | " + " | ".join(f"{t} ({c['n']} models)" for t, c in cols) + " |",
                  "|---|" + "---:|" * len(cols)]
        for what, label in (("median", "median speed-up (target ≥ 10×)"), ("slowest", "slowest three"),
                            ("slower", "models slower than torchinfo (target: none)"), ("fastest", "fastest"),
                            ("times", "median time, padstride / torchinfo"),
                            ("paths", "reader path: models, median speed-up")):
            lines.append(f"| {label} | " + " | ".join(cell(c, what) for _, c in cols) + " |")
        lines.append("")
        for t, c in cols:
            met = c["median"] >= 10 and not c["slower"]
            lines.append(f"At the {t}: target (median ≥ 10×, none slower) {'met' if met else 'not met'}; "
                         "slower than torchinfo: " + (", ".join(f"{m} ({x:.2f}×)" for x, m in c["slower"])
                                                      if c["slower"] else "none") + ".")
    peaks = [r["padstride"]["tracemalloc_peak_mb"] for r in zoo["rows"] if "tracemalloc_peak_mb" in r["padstride"]]
    growth = [r["padstride"]["rss_growth_mb"] for r in zoo["rows"] if "rss_growth_mb" in r["padstride"]]
    if peaks:
        lines.append(f"padstride's memory (zoo size): peak RSS growth during the calls median "
                     f"{statistics.median(growth):.1f} MB, max {max(growth):.1f} MB; Python allocations (tracemalloc) "
                     f"median {statistics.median(peaks):.2f} MB, max {max(peaks):.2f} MB.")
    if "native" in (zoo["rows"][0] if zoo["rows"] else {}):
        repeats, budget, cap = zoo.get("repeats", REPEATS), zoo.get("budget_s", BUDGET_S), zoo.get("native_cap",
                                                                                                     NATIVE_CAP)
        lines += ["", f"One process, one CPU thread, batch 1, both tools measured alike: per model and size one "
                  f"warm-up call, then the best of up to {repeats} timed calls (fewer once {budget} s are spent), "
                  "the garbage collector collected once per model and size and paused during the calls, as timeit "
                  "does. The zoo size is the larger of the model's two zoo sizes (mostly 131, odd where the model "
                  "allows); the native size is timm's `pretrained_cfg['input_size']` (224 for torchvision), sides "
                  f"above {cap} measured at {cap} (csatv2, vit_pe_spatial_tiny_patch16_512); where both sizes are "
                  "the same the zoo measurement is reused. torchinfo runs a real forward, so its time grows with the "
                  "input; padstride's read does not. A 2-core machine: single numbers are noisy, ratios measured "
                  "back to back are what counts."]
    else:  # results saved before the native-size column, with the words of that run
        lines += ["", "One process, both tools warmed up on each model, one CPU thread, the larger zoo size of each "
                  "model (mostly 131), batch 1, on a 2-core machine with no other job running (noisy all the same: "
                  "single numbers mean little; ratios between the two tools measured back to back are what counts). "
                  "At 131 px torchinfo's real forward is cheap; padstride's read does not grow with the input size. "
                  "One timed call per tool, after a full garbage collection."]
    return "\n".join(lines)


def write_coverage(zoo: dict[str, Any]) -> None:
    """Put the coverage table between the markers of docs/analysis.md."""
    doc = ROOT / "docs" / "analysis.md"
    begin, end = "<!-- begin zoo-coverage -->", "<!-- end zoo-coverage -->"
    text = doc.read_text()
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    doc.write_text(pattern.sub(lambda _: f"{begin}\n{coverage(zoo)}\n{end}", text))
