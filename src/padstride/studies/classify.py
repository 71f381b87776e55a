"""One classification record: build the variant, train, and measure everything the seeds print.

Used by ``classification``, ``volumes`` and ``augmentation`` studies. Metrics: test accuracy,
accuracy per border distance, params, MACs (when :mod:`padstride.analysis` is available), train
time and samples/s, inference latency, mean |grad| per layer at init and after training, feature
map sizes, and a few sample predictions.

>>> from padstride.studies.spec import load_study
>>> study = load_study("classification", quick=True).override(
...     data={"n_train": 64, "n_test": 32}, train={"epochs": 1},
...     eval={"latency_size": 28, "latency_batch": 2, "latency_repeats": 1, "latency_warmup": 0, "grad_batch": 8})
>>> r = run_classification(study, "valid", 0)
>>> r["test_acc"] <= 1, r["feature_shapes"][0]
(True, [32, 26, 26])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..geometry import PaddingError
from .context import Context
from .datasets import load_data
from .errors import StudyError
from .models import build_classifier
from .samples import pack
from .spec import Study, Variant
from .train import fit, grad_magnitudes, latency_ms, predict, random_pad_crop

__all__ = ["check_classification", "macs", "run_classification"]


def macs(model: Any, input_shape: tuple[int, ...]) -> int | None:
    """Multiply-accumulates of one forward pass, from :mod:`padstride.analysis` when it is installed.

    OPTIONAL: returns None where padstride.analysis (or its torch adapter) is not available.

    >>> macs(None, (1, 28, 28)) is None
    True
    """
    try:
        from ..analysis import analyze  # optional: padstride.analysis
    except ImportError:
        return None
    try:
        return int(analyze(model, input_shape=input_shape).total_macs)
    except Exception:
        return None


def _build(study: Study, cfg: Variant, input_shape: tuple[int, ...], num_classes: int) -> Any:
    model = study.model
    try:
        return build_classifier(model.arch, padding=cfg.padding, stride=cfg.stride, pool=cfg.pool,
                                input_shape=input_shape, num_classes=num_classes, width=model.width)
    except PaddingError as exc:
        raise StudyError(f"variant on input {input_shape}: {exc}") from None


def _by_border(correct: np.ndarray, border: np.ndarray | None) -> dict[str, list[int]]:
    if border is None:
        return {}
    hits = np.bincount(border, weights=correct, minlength=border.max() + 1)
    total = np.bincount(border, minlength=border.max() + 1)
    return {str(d): [int(hits[d]), int(total[d])] for d in range(len(total)) if total[d]}


def check_classification(study: Study, variant: str) -> None:
    """Raise :class:`StudyError` if the variant's model cannot be built for the study's data.

    >>> from padstride.studies.spec import load_study
    >>> check_classification(load_study("classification", quick=True), "strided")
    """
    data = load_data(study.data.to_dict())
    _build(study, study.variants[variant], data.input_shape, data.num_classes)


def run_classification(study: Study, variant: str, seed: int, ctx: Context | None = None) -> dict[str, Any]:
    """Train and measure one (variant, seed) of a classification-type study; returns the metrics.

    >>> from padstride.studies.spec import load_study
    >>> study = load_study("classification", quick=True).override(
    ...     data={"n_train": 32, "n_test": 16}, train={"epochs": 1, "batch_size": 8},
    ...     eval={"latency_batch": 1, "latency_repeats": 1, "latency_warmup": 0, "latency_size": 28,
    ...           "grad_batch": 2, "samples": 2})
    >>> metrics = run_classification(study, "same", seed=0)
    >>> 0.0 <= metrics["test_acc"] <= 1.0
    True
    """
    import torch

    ctx = ctx or Context()
    cfg = study.variants[variant]
    data = load_data(study.data.to_dict())
    torch.manual_seed(seed)
    model = _build(study, cfg, data.input_shape, data.num_classes)
    x_tr, y_tr = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    x_te, y_te = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    gb = study.eval.grad_batch
    grads_init = grad_magnitudes(model, x_te[:gb], y_te[:gb])
    augment = None
    if cfg.pad_mode != "none":
        def augment(xb: Any, gen: Any) -> Any:
            return random_pad_crop(xb, cfg.max_pad, cfg.pad_mode, gen)
    t = study.train
    fitted = fit(model, x_tr, y_tr, epochs=t.epochs, batch_size=t.batch_size, lr=t.lr, seed=seed,
                 augment=augment, deadline=ctx.deadline, on_step=ctx.on_step)
    logits = predict(model, x_te)
    pred = logits.argmax(1).numpy()
    correct = (pred == data.y_test).astype(np.float64)
    test_loss = float(torch.nn.functional.cross_entropy(logits, y_te))
    grads_final = grad_magnitudes(model, x_te[:gb], y_te[:gb])
    k = min(study.eval.samples, len(pred))
    images = data.x_test[:k, 0]
    if images.ndim == 4:  # volumes: the middle slice
        images = images[:, images.shape[1] // 2]
    e = study.eval
    nd = len(data.input_shape) - 1
    lat_shape = (e.latency_batch, e.latency_channels) + (e.latency_size,) * nd
    lat: dict[str, Any] = {"batch": e.latency_batch, "channels": e.latency_channels,
                           "size": [e.latency_size] * nd, "warmup": e.latency_warmup,
                           "repeats": e.latency_repeats, "statistic": "median"}
    try:
        torch.manual_seed(seed)
        lat_model = _build(study, cfg, lat_shape[1:], data.num_classes)
        lat["ms"] = latency_ms(lat_model, lat_shape, e.latency_warmup, e.latency_repeats)
        lat["params"] = sum(p.numel() for p in lat_model.parameters())
    except StudyError as exc:
        lat["ms"], lat["error"] = None, str(exc)
    return {
        "test_acc": float(correct.mean()),
        "test_loss": test_loss,
        "acc_by_border": _by_border(correct, data.border_test),
        "params": sum(p.numel() for p in model.parameters()),
        "macs": macs(model, data.input_shape),
        **{k: fitted[k] for k in ("train_time_s", "samples_per_s", "final_loss", "samples")},
        "latency": lat,
        "grad_init": grads_init,
        "grad_final": grads_final,
        "feature_shapes": [list(s) for s in model.feature_shapes],
        "sample_predictions": {"images": pack(images), "label": data.y_test[:k].tolist(),
                               "pred": pred[:k].tolist(), "classes": list(data.classes)},
    }
