"""Seed 000's experiment, in every framework at hand: ``padstride verify`` is its command line.

A VALID convolution of the manually SAME-padded input (:func:`padstride.geometry.manual_same_padding`)
must equal a SAME convolution of the raw input with the same weights. Checked in Keras 3 (torch
backend), padstride's torch layer, padstride's NumPy engine (when installed) and onnxruntime,
and across them.

>>> result = experiment(Config(kernel=3, stride=2, input=(9, 8)), impls=("torch",))
>>> result["passed"], [r["status"] for r in result["rows"]]
(True, ['PASS'])
>>> sweep(random_configs(2, seed=0), impls=("torch",))["configs"]
2
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .errors import Error

__all__ = ["IMPLS", "LIMITS", "RUNNERS", "Config", "VerifyError", "experiment", "known_fault", "random_configs",
           "sweep"]

IMPLS = ("keras", "torch", "engine", "onnxruntime")

#: Largest value of each setting, and of the tensors and work they imply (memory and time stay bounded).
LIMITS = {"kernel": 255, "stride": 255, "input": 4096, "channels": 1024, "filters": 1024, "batch": 1024,
          "elements": 1 << 24, "macs": 1 << 31, "sweep": 10_000}


class VerifyError(Error, ValueError):
    """A configuration outside what the experiment accepts; the message names the setting."""


@dataclass(frozen=True)
class Config:
    """One experiment: NHWC input ``(batch, *input, channels)``, ``filters`` output channels.

    >>> Config(kernel=3, input=(100_000, 100_000)).check()
    Traceback (most recent call last):
    ...
    padstride.verify.VerifyError: input 100000 is above the limit of 4096 pixels per side
    """

    kernel: int = 7
    stride: int = 2
    input: tuple[int, int] = (28, 28)
    channels: int = 1
    filters: int = 4
    batch: int = 2
    seed: int = 0

    def check(self) -> Config:
        """Raise :class:`VerifyError` for a setting below 1 or above :data:`LIMITS`; returns self."""
        values = {"kernel": [self.kernel], "stride": [self.stride], "input": list(self.input),
                  "channels": [self.channels], "filters": [self.filters], "batch": [self.batch]}
        units = {"input": " pixels per side"}
        for name, items in values.items():
            for v in items:
                if v < 1:
                    raise VerifyError(f"{name} must be >= 1, got {v}")
                if v > LIMITS[name]:
                    raise VerifyError(f"{name} {v} is above the limit of {LIMITS[name]}{units.get(name, '')}")
        if not 0 <= self.seed < 2**63:
            raise VerifyError(f"seed must be between 0 and 2**63-1, got {self.seed}")
        height, width = self.input
        elements = self.batch * height * width * max(self.channels, self.filters)
        if elements > LIMITS["elements"]:
            raise VerifyError(f"batch × height × width × channels = {elements:,} values, above the limit of "
                              f"{LIMITS['elements']:,}; use a smaller input, batch or channel count")
        macs = elements * self.kernel * self.kernel * min(self.channels, self.filters)
        if macs > LIMITS["macs"]:
            raise VerifyError(f"the convolution takes {macs:,} multiply-adds, above the limit of "
                              f"{LIMITS['macs']:,}; use a smaller kernel, input, batch or channel count")
        return self


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

    from .torch import Conv2d

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
    """A documented framework fault that explains a mismatch in this configuration, else None.

    onnxruntime's SAME_UPPER does not clip a negative total pad at 0: exactly the configurations
    where SAME leaves input pixels at the end never read (kernel < stride).

    >>> known_fault("onnxruntime", Config(kernel=1, stride=4, input=(4, 4))) is not None
    True
    """
    from .geometry import conv_axis

    if impl == "onnxruntime" and any(conv_axis(n, cfg.kernel, cfg.stride, "same").never_read()[1] > 0
                                     for n in cfg.input):
        return "onnxruntime SAME_UPPER does not clip a negative total pad at 0 (kernel < stride)"
    return None


# --------------------------------------------------------------------------------------------


def experiment(cfg: Config, impls: tuple[str, ...] = IMPLS, atol: float = 1e-5) -> dict[str, Any]:
    """Run every implementation on one configuration; rows of max |difference| and a verdict.

    >>> result = experiment(Config(kernel=3, stride=2, input=(9, 8)), impls=("torch",))
    >>> [(r["a"], r["b"], r["status"]) for r in result["rows"]]
    [('torch VALID(manual pad)', 'torch SAME', 'PASS')]
    """
    from .geometry import manual_same_padding

    cfg.check()
    bad = [name for name in impls if name not in RUNNERS]
    if bad:
        raise VerifyError(f"unknown implementation {bad[0]!r}; expected one of {', '.join(IMPLS)}")
    if not np.isfinite(atol) or atol < 0:
        raise VerifyError(f"atol must be a finite number >= 0, got {atol}")

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


def random_configs(count: int, seed: int = 0) -> list[Config]:
    """``count`` random small configurations (kernel 1–9, stride 1–4, input 1–39 per side), reproducible.

    >>> len(random_configs(3, seed=1)), random_configs(1, seed=5) == random_configs(1, seed=5)
    (3, True)
    """
    if not 1 <= count <= LIMITS["sweep"]:
        raise VerifyError(f"a sweep runs 1 to {LIMITS['sweep']:,} configurations, got {count:,}")
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        k, s = int(rng.integers(1, 10)), int(rng.integers(1, 5))
        size = (int(rng.integers(1, 40)), int(rng.integers(1, 40)))
        out.append(Config(k, s, size, int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 3)),
                          seed + i))
    return out


def sweep(configs: Iterable[Config], impls: tuple[str, ...] = IMPLS, atol: float = 1e-5,
          step: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run :func:`experiment` on every configuration; per-pair PASS/KNOWN/FAIL counts and the failures.

    ``step`` is called after each configuration (a progress bar).
    """
    results = []
    for cfg in configs:
        results.append(experiment(cfg, impls, atol))
        if step is not None:
            step()
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
    return {
        "configs": len(results),
        "pairs": [{"pair": k, **v, "max_abs_diff_passing": worst.get(k, 0.0)} for k, v in counts.items()],
        "failures": [{"config": f["config"], "rows": [r for r in f["rows"] if r["status"] == "FAIL"]}
                     for f in failures],
        "skipped": results[0]["skipped"] if results else {},
        "passed": not failures,
    }
