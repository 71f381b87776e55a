"""``padstride verify``: seed 000's experiment, in every framework at hand.

A VALID convolution of the manually SAME-padded input (:func:`padstride.geometry.manual_same_padding`)
must equal a SAME convolution of the raw input with the same weights. Checked in Keras 3 (torch
backend), padstride's torch layer, padstride's NumPy engine (when installed) and onnxruntime,
and across them.

Example::

    padstride verify                      # the seed's k=7, s=2
    padstride verify -k 4 -s 3 -i 31,20 --json
    padstride verify --sweep 200
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._common import CliError, emit_json, parse_ints

HELP = "seed 000's check: VALID conv on the manually SAME-padded input == SAME conv, in each framework"

IMPLS = ("keras", "torch", "engine", "onnxruntime")


@dataclass(frozen=True)
class Config:
    """One experiment: NHWC input ``(batch, *input, channels)``, ``filters`` output channels."""

    kernel: int = 7
    stride: int = 2
    input: tuple[int, int] = (28, 28)
    channels: int = 1
    filters: int = 4
    batch: int = 2
    seed: int = 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", "--kernel", type=int, default=7, help="kernel size (default 7, the seed's)")
    p.add_argument("-s", "--stride", type=int, default=2, help="stride (default 2, the seed's)")
    p.add_argument("-i", "--input", default="28,28", help="input height,width (default 28,28)")
    p.add_argument("-c", "--channels", type=int, default=1, help="input channels (default 1)")
    p.add_argument("-f", "--filters", type=int, default=4, help="output channels (default 4)")
    p.add_argument("-b", "--batch", type=int, default=2, help="images per batch (default 2)")
    p.add_argument("--seed", type=int, default=0, help="random seed of images and weights")
    p.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (float32; default 1e-5)")
    p.add_argument("--only", help=f"comma-separated subset of {','.join(IMPLS)}")
    p.add_argument("--sweep", type=int, metavar="N", help="run N random configurations instead of one")
    p.add_argument("--json", action="store_true", help="print one JSON object")


# --------------------------------------------------------------------------------------------
# the four implementations: each returns (VALID on the padded input, SAME on the raw input), NHWC


def _keras(images: np.ndarray, padded: np.ndarray, kernel: np.ndarray, bias: np.ndarray, cfg: Config) -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    out = []
    for pad, x in (("valid", padded), ("same", images)):
        layer = keras.layers.Conv2D(cfg.filters, cfg.kernel, strides=cfg.stride, padding=pad)
        layer.build(x.shape)
        layer.set_weights([kernel, bias])
        out.append(keras.ops.convert_to_numpy(layer(x)))
    return out


def _torch(images: np.ndarray, padded: np.ndarray, kernel: np.ndarray, bias: np.ndarray, cfg: Config) -> Any:
    import torch

    from ..torch import Conv2d

    state = {"weight": torch.from_numpy(np.ascontiguousarray(np.moveaxis(kernel, (-1, -2), (0, 1)))),
             "bias": torch.from_numpy(bias)}
    out = []
    for pad, x in (("valid", padded), ("same", images)):
        layer = Conv2d(cfg.channels, cfg.filters, cfg.kernel, cfg.stride, pad)
        layer.load_state_dict(state)
        with torch.no_grad():
            y = layer(torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2))
        out.append(y.permute(0, 2, 3, 1).numpy())
    return out


def _engine(images: np.ndarray, padded: np.ndarray, kernel: np.ndarray, bias: np.ndarray, cfg: Config) -> Any:
    import importlib

    engine = importlib.import_module("padstride.engine")
    conv = getattr(engine, "conv", None)
    if conv is None:
        raise ModuleNotFoundError("padstride.engine.conv is not installed")
    return [conv(x, kernel, bias, stride=cfg.stride, padding=pad, layout="channels_last")
            for pad, x in (("valid", padded), ("same", images))]


def _onnxruntime(images: np.ndarray, padded: np.ndarray, kernel: np.ndarray, bias: np.ndarray, cfg: Config) -> Any:
    import onnxruntime as ort
    from onnx import TensorProto, helper

    w = np.ascontiguousarray(np.moveaxis(kernel, (-1, -2), (0, 1)))
    out = []
    for attrs, x in (({"pads": [0, 0, 0, 0]}, padded), ({"auto_pad": "SAME_UPPER"}, images)):
        node = helper.make_node("Conv", ["X", "W", "B"], ["Y"], kernel_shape=[cfg.kernel] * 2,
                                strides=[cfg.stride] * 2, **attrs)
        graph = helper.make_graph(
            [node], "verify",
            [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, cfg.channels, None, None])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
            [helper.make_tensor("W", TensorProto.FLOAT, w.shape, w.ravel()),
             helper.make_tensor("B", TensorProto.FLOAT, bias.shape, bias)],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        opts = ort.SessionOptions()
        opts.log_severity_level = 4
        sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        (y,) = sess.run(None, {"X": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})
        out.append(y.transpose(0, 2, 3, 1))
    return out


RUNNERS: dict[str, Callable[..., Any]] = {
    "keras": _keras, "torch": _torch, "engine": _engine, "onnxruntime": _onnxruntime,
}


def known_fault(impl: str, cfg: Config) -> str | None:
    """A documented framework fault that explains a mismatch in this configuration, else None."""
    if impl == "onnxruntime":
        total = [(-(-n // cfg.stride) - 1) * cfg.stride + cfg.kernel - n for n in cfg.input]
        if min(total) < 0:
            return "onnxruntime SAME_UPPER does not clip a negative total pad at 0 (kernel < stride)"
    return None


# --------------------------------------------------------------------------------------------


def experiment(cfg: Config, impls: tuple[str, ...] = IMPLS, atol: float = 1e-5) -> dict[str, Any]:
    """Run every implementation on one configuration; rows of max |difference| and a verdict.

    >>> result = experiment(Config(kernel=3, stride=2, input=(9, 8)), impls=("torch",))
    >>> [(r["a"], r["b"], r["status"]) for r in result["rows"]]
    [('torch VALID(manual pad)', 'torch SAME', 'PASS')]
    """
    from ..geometry import manual_same_padding

    rng = np.random.default_rng(cfg.seed)
    images = rng.random((cfg.batch, *cfg.input, cfg.channels)).astype(np.float32)
    kernel = rng.standard_normal((cfg.kernel, cfg.kernel, cfg.channels, cfg.filters)).astype(np.float32)
    kernel /= np.float32(np.sqrt(cfg.kernel * cfg.kernel * cfg.channels))
    bias = rng.standard_normal(cfg.filters).astype(np.float32)
    padded = manual_same_padding(images, cfg.kernel, cfg.stride)

    outputs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    skipped: dict[str, str] = {}
    for name in impls:
        try:
            valid, same = RUNNERS[name](images, padded, kernel, bias, cfg)
        except ModuleNotFoundError as exc:
            skipped[name] = str(exc)
            continue
        outputs[name] = (np.asarray(valid), np.asarray(same))

    rows = []

    def compare(a_name: str, a: np.ndarray, b_name: str, b: np.ndarray, impl: str) -> None:
        if a.shape != b.shape:
            diff, ok = float("inf"), False
        else:
            diff = float(np.abs(a.astype(np.float64) - b).max()) if a.size else 0.0
            ok = diff <= atol + 1e-5 * float(np.abs(b).max() if b.size else 0.0)
        status = "PASS" if ok else ("KNOWN" if known_fault(impl, cfg) else "FAIL")
        row = {"a": a_name, "b": b_name, "shape_a": list(a.shape), "shape_b": list(b.shape),
               "max_abs_diff": diff, "status": status}
        if status == "KNOWN":
            row["fault"] = known_fault(impl, cfg)
        rows.append(row)

    for name, (valid, same) in outputs.items():
        compare(f"{name} VALID(manual pad)", valid, f"{name} SAME", same, name)
    names = list(outputs)
    for other in names[1:]:
        compare(f"{names[0]} SAME", outputs[names[0]][1], f"{other} SAME", outputs[other][1], other)
    passed = all(r["status"] != "FAIL" for r in rows)
    return {"config": asdict(cfg), "rows": rows, "skipped": skipped, "passed": passed}


def _config(args: argparse.Namespace) -> Config:
    size = parse_ints(args.input, "--input")
    if len(size) == 1:
        size = size * 2
    if len(size) != 2:
        raise CliError(f"--input takes height,width, got {args.input!r}")
    checks = {"--kernel": args.kernel, "--stride": args.stride, "--channels": args.channels,
              "--filters": args.filters, "--batch": args.batch, "--input": min(size)}
    for flag, value in checks.items():
        if value < 1:
            raise CliError(f"{flag} must be >= 1, got {value}")
    return Config(args.kernel, args.stride, (size[0], size[1]), args.channels, args.filters, args.batch, args.seed)


def _impls(text: str | None) -> tuple[str, ...]:
    if not text:
        return IMPLS
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    bad = [n for n in names if n not in IMPLS]
    if bad or not names:
        raise CliError(f"--only takes names from {','.join(IMPLS)}, got {text!r}")
    return names


def _random_config(rng: np.random.Generator, seed: int) -> Config:
    k = int(rng.integers(1, 10))
    s = int(rng.integers(1, 5))
    size = (int(rng.integers(1, 40)), int(rng.integers(1, 40)))
    return Config(k, s, size, int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 3)), seed)


def _progress(total: int, work: Callable[[Callable[[], None]], None], quiet: bool) -> None:
    if quiet or not sys.stderr.isatty():
        work(lambda: None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("verify"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("verify", total=total)
        work(lambda: bar.advance(task))


def _print_table(result: dict[str, Any]) -> None:
    cfg = result["config"]
    print(f"kernel {cfg['kernel']}, stride {cfg['stride']}, input {cfg['input'][0]}x{cfg['input'][1]}, "
          f"channels {cfg['channels']} -> {cfg['filters']}, batch {cfg['batch']}, seed {cfg['seed']}")
    width = max([len(r["a"]) for r in result["rows"]] + [4])
    width_b = max([len(r["b"]) for r in result["rows"]] + [4])
    print(f"{'A':<{width}}  {'B':<{width_b}}  {'max |A-B|':>10}  result")
    for r in result["rows"]:
        diff = "shape" if r["max_abs_diff"] == float("inf") else f"{r['max_abs_diff']:.3g}"
        note = f"  ({r['fault']})" if r.get("fault") else ""
        print(f"{r['a']:<{width}}  {r['b']:<{width_b}}  {diff:>10}  {r['status']}{note}")
    for name, why in result["skipped"].items():
        print(f"skipped {name}: {why}")
    print("PASS" if result["passed"] else "FAIL")


def run(args: argparse.Namespace) -> int:
    impls = _impls(args.only)
    if args.atol < 0:
        raise CliError(f"--atol must be >= 0, got {args.atol}")
    if args.sweep is None:
        result = experiment(_config(args), impls, args.atol)
        if not result["rows"]:
            raise CliError("no framework available: install keras, torch or onnxruntime")
        emit_json(result) if args.json else _print_table(result)
        return 0 if result["passed"] else 1
    if args.sweep < 1:
        raise CliError(f"--sweep must be >= 1, got {args.sweep}")
    rng = np.random.default_rng(args.seed)
    configs = [_random_config(rng, args.seed + i) for i in range(args.sweep)]
    results: list[dict[str, Any]] = []

    def work(step: Callable[[], None]) -> None:
        for cfg in configs:
            results.append(experiment(cfg, impls, args.atol))
            step()

    _progress(len(configs), work, args.json)
    counts: dict[str, dict[str, int]] = {}
    worst: dict[str, float] = {}
    for res in results:
        for r in res["rows"]:
            key = f"{r['a']} vs {r['b']}".replace(" VALID(manual pad) vs ", ": VALID(manual pad) vs ")
            c = counts.setdefault(key, {"PASS": 0, "FAIL": 0, "KNOWN": 0})
            c[r["status"]] += 1
            if r["max_abs_diff"] != float("inf") and r["status"] == "PASS":
                worst[key] = max(worst.get(key, 0.0), r["max_abs_diff"])
    failures = [res for res in results if not res["passed"]]
    summary = {
        "configs": len(results),
        "pairs": [{"pair": k, **v, "max_abs_diff_passing": worst.get(k, 0.0)} for k, v in counts.items()],
        "failures": [{"config": f["config"], "rows": [r for r in f["rows"] if r["status"] == "FAIL"]}
                     for f in failures],
        "skipped": results[0]["skipped"] if results else {},
        "passed": not failures,
    }
    if args.json:
        emit_json(summary)
    else:
        width = max(len(k) for k in counts) if counts else 4
        print(f"{len(results)} random configurations (seed {args.seed})")
        print(f"{'pair':<{width}}  {'PASS':>5}  {'KNOWN':>5}  {'FAIL':>5}  {'max |A-B| (pass)':>16}")
        for k, v in counts.items():
            print(f"{k:<{width}}  {v['PASS']:>5}  {v['KNOWN']:>5}  {v['FAIL']:>5}  {worst.get(k, 0.0):>16.3g}")
        for name, why in summary["skipped"].items():
            print(f"skipped {name}: {why}")
        for f in summary["failures"][:5]:
            print(f"FAIL at {f['config']}")
        print("PASS" if summary["passed"] else "FAIL")
    return 0 if summary["passed"] else 1
