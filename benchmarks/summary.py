"""``padstride summary`` vs ``torchinfo.summary``: ResNet-50 at 224² and a 3-D U-Net at 256³ and 512³, batch 1;
the whole model zoo of ``tests/zoo`` at each model's zoo size and native size (where torchvision and timm
import: run it in the zoo venv; see :mod:`benchmarks._zoo`), and the linear-propagation case (residual
chains of 200/400/800 blocks).

``python -m benchmarks summary`` runs everything and writes ``benchmarks/results/summary.json`` and
``docs/performance.md``; ``--render`` rewrites the docs from the saved results; ``--models a,b,c``
measures only those zoo models and prints the table (nothing written).

Each measurement runs in a fresh subprocess, the model already built and each tool warmed up by
one call on a small input in that process (imports, first-call set-up): time of the call, and the
growth of the process' peak resident memory during it (``resource.getrusage``), plus
``tracemalloc``'s peak of Python allocations. As ``timeit`` does, the garbage collector is paused
during the timed call (after a collection), for both tools alike: otherwise a collection of the
whole heap, triggered at random, adds up to 0.1 s to either. Best of 3 processes per tool, except
torchinfo on the 256³ U-Net (one run of ~15 s). torchinfo runs a real forward pass; padstride traces
``forward`` with stand-in tensors and propagates shapes, allocating no activation. torchinfo is not
run at 512³: padstride's static estimate of the live activations it would need is reported instead.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODELS = {
    "resnet50": ("resnet", "resnet50", (3, 224, 224)),
    "unet3d_256": ("torch_models", "unet3d", (1, 256, 256, 256)),
    "unet3d_512": ("torch_models", "unet3d", (1, 512, 512, 512)),
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(tool: str, key: str) -> dict[str, Any]:
    """Run one tool on one model in this process and return time and memory."""
    sys.path[:0] = [str(ROOT / "src"), str(ROOT / "examples")]
    import importlib

    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1)))
    module, factory, shape = MODELS[key]
    model = getattr(importlib.import_module(module), factory)().eval()
    small = (3, 32, 32) if key == "resnet50" else (1, 16, 16, 16)
    if tool == "padstride":
        from padstride.analysis import analyze

        def run(size: tuple[int, ...] = shape) -> Any:
            return analyze(model, size)
    elif tool == "onnx":  # the model exported by torch.onnx.export (TorchScript, opset 17), read from its file
        import tempfile
        import warnings

        from padstride.analysis import analyze

        path = Path(tempfile.mkdtemp(prefix="padstride-bench-")) / f"{key}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.zeros(1, *shape),), str(path), dynamo=False, opset_version=17)

        def run(size: tuple[int, ...] = shape) -> Any:
            return analyze(str(path))
    else:
        import torchinfo

        def run(size: tuple[int, ...] = shape) -> Any:
            return torchinfo.summary(model, (1, *size), verbose=0)
    run(small)  # warm-up: imports, first-call set-up
    gc.collect()
    base = _rss_mb()
    gc.disable()
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    gc.enable()
    out: dict[str, Any] = {"seconds": seconds, "peak_rss_growth_mb": _rss_mb() - base}
    if tool == "onnx":
        out.update(params=result.total_params)
        return out
    if tool == "padstride":  # a second, traced call: Python allocations (tracemalloc slows the code down)
        tracemalloc.start()
        run()
        out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        out.update(params=result.total_params, macs=result.total_macs, output_bytes=result.output_bytes,
                   peak_activation_bytes=result.peak_activation_bytes, rf=[r.size for r in result.output_rf])
    else:
        out.update(params=result.total_params, macs=result.total_mult_adds)
    return out


def _child(tool: str, key: str) -> dict[str, Any]:
    extra = os.environ.get("PYTHONPATH", "")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), str(ROOT / "src"), extra) if p)}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.summary", "--measure", tool, key], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def render(rows: dict[str, dict[str, Any]], load: dict[str, Any] | None = None) -> str:
    """The Markdown table and notes for docs/performance.md."""
    lines = ["| model, batch 1 | padstride | torchinfo | speed-up | padstride peak RSS growth | "
             "torchinfo peak RSS growth | params | MACs, padstride (torchinfo) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key, row in rows.items():
        p, t = row["padstride"], row.get("torchinfo")
        if t is None:
            need = p["peak_activation_bytes"] / 2**30
            lines.append(f"| {key} | {p['seconds']:.3f} s | not run: needs ≥ {need:.0f} GiB "
                         f"of live activations ({p['output_bytes'] / 2**30:.0f} GiB written) | — | "
                         f"{p['peak_rss_growth_mb']:.1f} MB | — | {p['params']:,} | {p['macs']:,} |")
            continue
        params = f"{p['params']:,}" + (" (same)" if p["params"] == t["params"] else f" ({t['params']:,})")
        macs = f"{p['macs']:,}" + (" (same)" if p["macs"] == t["macs"] else f" ({t['macs']:,})")
        lines.append(f"| {key} | {p['seconds']:.3f} s | {t['seconds']:.2f} s | {t['seconds'] / p['seconds']:.0f}× | "
                     f"{p['peak_rss_growth_mb']:.1f} MB | {t['peak_rss_growth_mb']:.0f} MB | {params} | {macs} |")
    note = ("Best of 3 runs per tool (torchinfo on the 256³ U-Net: one run), each in a fresh process with the model "
            "already built and the tool warmed up on a small input; the garbage collector paused during the timed call "
            "for both, as timeit does (2 shared CPU cores). Peak RSS growth is the rise of the process' maximum "
            "resident memory during the call; padstride's Python allocations peak below 1 MB (tracemalloc). "
            "The 3-D U-Net is `examples/torch_models.py:unet3d` (base 8, three poolings, ConvTranspose3d k=2 s=2 "
            "upsampling). "
            "torchinfo counts ConvTranspose MACs as weights × output positions (8× too many here); padstride "
            "counts weights × input positions, hence the MAC difference. torchinfo is not run at 512³: it would "
            "hold the live activations padstride estimates (column 3) on a 24 GB machine shared with other jobs. "
            + ("The committed run was made on that machine with no other job running." if load is None else
               f"Load average (1 min) at the start and the end of the run: {load['start']:.1f} and {load['end']:.1f} "
               f"on {load['cores']} cores (above the core count, other jobs shared the machine: times are longer "
               "and noisier than on a quiet one)."))
    speedups = {k: r["torchinfo"]["seconds"] / r["padstride"]["seconds"] for k, r in rows.items() if "torchinfo" in r}
    target = "Target (issue 6): ≥ 10× faster. " + "; ".join(
        f"{k}: {v:.0f}× ({'met' if v >= 10 else 'not met'})" for k, v in speedups.items()) + "."
    onnx = rows.get("resnet50", {}).get("onnx")
    if onnx is not None:
        ratio = onnx["seconds"] / rows["resnet50"]["padstride"]["seconds"]
        target += (f" ResNet-50 exported to ONNX (TorchScript exporter, opset 17; BN folded: {onnx['params']:,} "
                   f"params), read from the file: {onnx['seconds'] * 1e3:.1f} ms, {ratio:.1f}× the module's read "
                   f"(issue 12: ≤ 3×, {'met' if ratio <= 3 else 'not met'}).")
    return "\n".join(lines) + "\n\n" + target + "\n\n" + note


def _zoo_available() -> bool:
    try:
        import timm  # noqa: F401
        import torchinfo  # noqa: F401
        import torchvision  # noqa: F401
    except Exception:
        return False
    return True


def _models_flag() -> set[str] | None:
    """``--models a,b,c``: only these zoo models (nothing written: for working on the code)."""
    if "--models" not in sys.argv:
        return None
    i = sys.argv.index("--models")
    if i + 1 >= len(sys.argv):
        raise SystemExit("--models needs a comma-separated list of zoo model names")
    return {m for m in sys.argv[i + 1].split(",") if m}


def main() -> None:
    from benchmarks import _linear, _zoo
    from benchmarks._report import write_results

    rows: dict[str, dict[str, Any]] = {}
    zoo: dict[str, Any] | None = None
    linear: dict[str, Any] | None = None
    load: dict[str, Any] | None = None
    kept: dict[str, Any] = {}
    only = _models_flag()
    if only is not None:  # a subset of the zoo, printed only
        sys.path[:0] = [str(ROOT), str(ROOT / "src")]
        print(_zoo.render(_zoo.run(only)))
        return
    if "--render" in sys.argv:
        saved = json.loads((ROOT / "benchmarks" / "results" / "summary.json").read_text())
        rows, zoo, linear, load = saved["rows"], saved.get("zoo"), saved.get("linear"), saved.get("load")
        kept = {"machine": saved["machine"]} if "machine" in saved else {}  # the run's machine, not this one
    else:
        load = {"start": os.getloadavg()[0], "cores": os.cpu_count()}
        sys.path[:0] = [str(ROOT), str(ROOT / "src")]
        linear = _linear.run()
        print("linear", linear, flush=True)
        if _zoo_available():
            zoo = _zoo.run()
        else:
            print("zoo skipped: torchvision, timm or torchinfo missing (run in the zoo venv, .venv-zoo)", flush=True)
        for key in MODELS:
            rows[key] = {"padstride": min((_child("padstride", key) for _ in range(3)), key=lambda r: r["seconds"])}
            print(key, "padstride", rows[key]["padstride"], flush=True)
            if key == "resnet50":  # issue 12: reading its ONNX export within 3× of reading the module
                rows[key]["onnx"] = min((_child("onnx", key) for _ in range(3)), key=lambda r: r["seconds"])
                print(key, "onnx", rows[key]["onnx"], flush=True)
            if key != "unet3d_512":
                runs = 3 if key == "resnet50" else 1
                rows[key]["torchinfo"] = min((_child("torchinfo", key) for _ in range(runs)),
                                             key=lambda r: r["seconds"])
                print(key, "torchinfo", rows[key]["torchinfo"], flush=True)
        load["end"] = os.getloadavg()[0]
    table = render(rows, load)
    if linear is not None:
        table += "\n\n### Propagation is linear\n\n" + _linear.render(linear)
    if zoo is not None:
        table += "\n\n### The model zoo (torchvision + timm)\n\n" + _zoo.render(zoo)
        _zoo.write_coverage(zoo)
    payload = {"rows": rows, "zoo": zoo, "linear": linear, **({"load": load} if load else {}), **kept}
    write_results("summary", payload, table, "Static summary vs torchinfo (ResNet-50, 3-D U-Net, the model zoo)")
    print(table)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2], sys.argv[3])))
    else:
        main()
