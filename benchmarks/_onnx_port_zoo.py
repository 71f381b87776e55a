"""``from_onnx`` over whole zoos: every torchvision classification model and the timm zoo of ``tests/zoo``.

Run in the zoo venv, one model per subprocess (memory returns to the system between models)::

    .venv-zoo/bin/python -m benchmarks._onnx_port_zoo torchvision          # all torchvision models
    .venv-zoo/bin/python -m benchmarks._onnx_port_zoo timm resnet10t ...   # some timm models

Per model: random init (zero-initialized parameters, such as ViT's head, redrawn so that outputs
differ), exported with ``torch.onnx.export`` (TorchScript exporter, ``dynamo=False``, opset 17) at one
small size (torchvision 65, ViTs the smallest multiple of their patch, Inception 79, MaxViT 224;
timm the first of its zoo sizes), run by onnxruntime and by the ported module on one standard-normal
image. "ported": same shape and max |ported − onnxruntime| / max |onnxruntime| < 1e-4. Results are
appended as JSON lines to ``benchmarks/results/onnx_port_zoo.jsonl`` (models already there are skipped).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "onnx_port_zoo.jsonl"
SIZES = {"vit_b_16": 32, "vit_l_16": 32, "vit_b_32": 64, "vit_l_32": 64, "vit_h_14": 28, "inception_v3": 79,
         "maxvit_t": 224}
#: exported at 224: their adaptive pooling to 6×6 / 7×7 needs a whole factor, which the exporter requires
FULL_SIZE = ("alexnet", "vgg")


def _model(zoo: str, name: str, size: int) -> tuple[Any, tuple[int, ...]]:
    import torch

    torch.manual_seed(0)
    if zoo == "torchvision":
        import torchvision

        kwargs = {"image_size": size} if name.startswith("vit_") else {}
        model = getattr(torchvision.models, name)(weights=None, **kwargs)
        shape: tuple[int, ...] = (3, size, size)
    else:
        sys.path.insert(0, str(ROOT))
        from tests.zoo._zoo import build

        model, shape = build("timm", name, size)
    model = model.eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() > 1 and not p.any():
                p.normal_(0, 0.05)
    return model, shape


def one(zoo: str, name: str, size: int) -> dict[str, Any]:
    """Export, run and port one model (in this process)."""
    import numpy as np
    import onnxruntime as ort
    import torch

    from padstride.torch import from_onnx

    torch.set_num_threads(1)
    out: dict[str, Any] = {"zoo": zoo, "name": name, "size": size}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        try:
            start = time.perf_counter()
            model, shape = _model(zoo, name, size)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (torch.zeros(1, *shape),), path, dynamo=False, opset_version=17)
            del model
            out["export_s"] = round(time.perf_counter() - start, 1)
        except Exception as exc:
            return {**out, "status": "not exported", "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        x = np.random.default_rng(0).standard_normal((1, *shape)).astype(np.float32)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.log_severity_level = 1, 4
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        want = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        del sess
        try:
            start = time.perf_counter()
            net = from_onnx(path)
            out["port_s"] = round(time.perf_counter() - start, 1)
            with torch.no_grad():
                got = net(torch.from_numpy(x))
        except Exception as exc:
            return {**out, "status": "refused", "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    got = (got[0] if isinstance(got, tuple) else got).numpy()
    if got.shape != want.shape:
        return {**out, "status": "wrong", "error": f"shape {got.shape}, onnxruntime {want.shape}"}
    err = float(np.abs(got - want).max() / max(float(np.abs(want).max()), 1e-30))
    return {**out, "err": err, "status": "ported" if err < 1e-4 else "wrong"}


def names(zoo: str) -> list[tuple[str, int]]:
    if zoo == "torchvision":
        import torchvision

        return [(n, 224 if n.startswith(FULL_SIZE) else SIZES.get(n, 65))
                for n in torchvision.models.list_models(module=torchvision.models)]
    sys.path.insert(0, str(ROOT))
    from tests.zoo._models import MODELS

    return [(n, sizes[0]) for n, sizes in MODELS["timm"].items()]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--one"]:
        print(json.dumps(one(args[1], args[2], int(args[3]))), flush=True)
        return
    zoo = args[0] if args else "torchvision"
    wanted = set(args[1:])
    done = set()
    if RESULTS.exists():
        done = {(r["zoo"], r["name"]) for r in map(json.loads, RESULTS.read_text().splitlines())}
    for name, size in names(zoo):
        if (wanted and name not in wanted) or (zoo, name) in done:
            continue
        proc = subprocess.run([sys.executable, "-m", "benchmarks._onnx_port_zoo", "--one", zoo, name, str(size)],
                              capture_output=True, text=True, cwd=ROOT, check=False)
        lines = proc.stdout.strip().splitlines()
        row = json.loads(lines[-1]) if lines else {"zoo": zoo, "name": name, "size": size, "status": "crashed",
                                                   "error": proc.stderr.strip()[-200:]}
        print(json.dumps(row), flush=True)
        with RESULTS.open("a") as f:
            f.write(json.dumps(row) + "\n")
    rows = [json.loads(r) for r in RESULTS.read_text().splitlines()] if RESULTS.exists() else []
    rows = [r for r in rows if r["zoo"] == zoo]
    ported = sum(r["status"] == "ported" for r in rows)
    exported = sum(r["status"] != "not exported" for r in rows)
    print(f"{zoo}: {ported} of {exported} exported models ported ({len(rows)} tried)")


if __name__ == "__main__":
    main()
