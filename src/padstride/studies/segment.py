"""One segmentation record: a U-Net in ``same`` or ``valid`` padding on generated shapes with masks.

The ``valid`` U-Net is trained the way the U-Net paper tiles: each image is mirrored by the
network's margin, so its (smaller) output covers exactly the image and both variants are scored
on the same pixels. Metrics: IoU, output size for the image size, overlap-tile inference of a
larger image (tiles needed, max difference from one whole-image inference = seams), params,
MACs, latency, train time, mean |grad| per layer and sample masks.

>>> from padstride.studies.spec import load_study
>>> s = load_study("segmentation", quick=True).override(
...     data={"n_train": 8, "n_test": 4, "large": 60}, train={"epochs": 1}, model={"base": 2},
...     eval={"latency_batch": 1, "latency_repeats": 1, "latency_warmup": 0})
>>> r = run_segmentation(s, "valid", 0)
>>> r["tiling"]["max_diff"] < 1e-4, r["output_size"]
(True, [8, 8])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..geometry import PaddingError, centre_crop
from .classify import macs
from .context import Context
from .datasets import load_data
from .errors import StudyError
from .samples import pack
from .shapes import shapes
from .spec import Study
from .tiles import overlap_tile
from .train import fit, grad_magnitudes, latency_ms, predict
from .unet import UNet, valid_sizes

__all__ = ["check_segmentation", "run_segmentation"]


def _margin(net: Any, depth: int, size: int) -> int:
    """Context the network eats per side, from a dry run on the first tileable size ≥ ``size``."""
    import torch

    probe = valid_sizes(depth, range(size, size + 2**depth * 8 + 64))[0]
    with torch.no_grad():
        out: int = net(torch.zeros(1, 1, probe, probe)).shape[-1]
    return centre_crop(probe, out)[0]


def _iou(pred: np.ndarray, true: np.ndarray) -> float:
    union = np.logical_or(pred, true).sum()
    return float(np.logical_and(pred, true).sum() / union) if union else 1.0


def _tiling(padding: object, depth: int, size: int) -> tuple[int, int, list[int]]:
    """This variant's margin per side, the common input tile, and the output for a bare ``size``² input.

    Both variants tile large images with the same input tile (the same memory): the ``valid``
    network's input for one ``size``² image, i.e. ``size`` plus its margin on each side.
    """
    import torch

    try:
        margin = _margin(UNet("valid", depth=depth, base=1), depth, size)

        def fits(n: int) -> bool:  # n px images: valid tiles of n + 2·margin; same also takes n alone
            checks: list[tuple[object, int]] = [("valid", n + 2 * margin)]
            if padding != "valid":
                checks += [(padding, n), (padding, n + 2 * margin)]
            return all(m in valid_sizes(depth, [m], pad) for pad, m in checks)

        if not fits(size):
            near = sorted(sorted((n for n in range(max(size - 64, 1), size + 64) if fits(n)),
                                 key=lambda n: abs(n - size))[:4])
            raise StudyError(f"a {padding} U-Net of depth {depth} cannot tile {size}px images exactly; "
                             f"use data.size in {near}")
        tile_in = size + 2 * margin
        with torch.no_grad():
            native_out = list(UNet(padding, depth=depth, base=1)(torch.zeros(1, 1, size, size)).shape[-2:])
    except PaddingError as exc:
        raise StudyError(f"U-Net {padding} on {size}px: {exc}") from None
    return (margin if padding == "valid" else 0), tile_in, native_out


def check_segmentation(study: Study, variant: str) -> None:
    """Raise :class:`StudyError` if the variant cannot run on the study's image size.

    >>> from padstride.studies.spec import load_study
    >>> check_segmentation(load_study("segmentation"), "valid")
    """
    _tiling(study.variants[variant].padding, study.model.depth, study.data.size)


def run_segmentation(study: Study, variant: str, seed: int, ctx: Context | None = None) -> dict[str, Any]:
    """Train and measure one (variant, seed) of a segmentation study; returns the metrics.

    >>> from padstride.studies.spec import load_study
    >>> study = load_study("segmentation", quick=True).override(
    ...     data={"n_train": 4, "n_test": 2}, train={"epochs": 1, "batch_size": 8},
    ...     eval={"latency_batch": 1, "latency_repeats": 1, "latency_warmup": 0, "latency_size": 48,
    ...           "grad_batch": 2, "samples": 2})
    >>> metrics = run_segmentation(study, "same", seed=0)
    >>> 0.0 <= metrics["test_iou"] <= 1.0
    True
    """
    import torch
    import torch.nn.functional as F

    ctx = ctx or Context()
    padding = study.variants[variant].padding
    depth, base = study.model.depth, study.model.base
    data = load_data({**study.data.to_dict(), "name": "shapes"})
    if data.mask_train is None or data.mask_test is None:  # shapes always has masks
        raise StudyError(f"segmentation needs masks; dataset {data.name!r} has none")
    size = data.x_train.shape[-1]
    torch.manual_seed(seed)
    net = UNet(padding, depth=depth, base=base)
    margin, tile_in, native_out = _tiling(padding, depth, size)

    def inputs(x: np.ndarray) -> Any:
        t = torch.from_numpy(x)
        return F.pad(t, (margin,) * 4, mode="reflect") if margin else t

    x_tr, x_te = inputs(data.x_train), inputs(data.x_test)
    m_tr = torch.from_numpy(data.mask_train[:, None].astype(np.float32))
    m_te = torch.from_numpy(data.mask_test[:, None].astype(np.float32))
    gb = study.eval.grad_batch
    grads_init = grad_magnitudes(net, x_te[:gb], m_te[:gb], loss="bce")
    t = study.train
    fitted = fit(net, x_tr, m_tr, epochs=t.epochs, batch_size=t.batch_size, lr=t.lr, seed=seed, loss="bce",
                 deadline=ctx.deadline, on_step=ctx.on_step)
    logits = predict(net, x_te, batch_size=64)
    pred = (logits > 0).numpy()[:, 0]
    per_image = [_iou(p, m) for p, m in zip(pred, data.mask_test, strict=False)]
    grads_final = grad_magnitudes(net, x_te[:gb], m_te[:gb], loss="bce")

    large = shapes(1, 1, size=study.data.large, objects=max(3, study.data.large ** 2 // size**2 * 3),
                   noise=study.data.noise, seed=study.data.seed + 1000)
    if large.mask_test is None:  # shapes always has masks
        raise StudyError("shapes gave no masks for the large image")
    net.eval()
    tiling = overlap_tile(net, torch.from_numpy(large.x_test), tile_in)
    large_pred = (tiling.pop("output")[0] > 0).numpy()
    tiling["iou"] = _iou(large_pred, large.mask_test[0])
    tiling["in_tile"] = tile_in

    e = study.eval
    lat: dict[str, Any] = {"batch": e.latency_batch, "channels": 1, "size": [tile_in, tile_in],
                           "warmup": e.latency_warmup, "repeats": e.latency_repeats, "statistic": "median"}
    lat["ms"] = latency_ms(net, (e.latency_batch, 1, tile_in, tile_in), e.latency_warmup, e.latency_repeats)
    k = min(e.samples, 4, len(pred))
    return {
        "test_iou": _iou(pred, data.mask_test),
        "test_iou_mean_image": float(np.mean(per_image)),
        "output_size": native_out,
        "input_size": [size, size],
        "margin": margin,
        "params": sum(p.numel() for p in net.parameters()),
        "macs": macs(net, (1, tile_in, tile_in)),
        **{k2: fitted[k2] for k2 in ("train_time_s", "samples_per_s", "final_loss", "samples")},
        "latency": lat,
        "tiling": tiling,
        "grad_init": grads_init,
        "grad_final": grads_final,
        "sample_predictions": {"images": pack(data.x_test[:k, 0]), "masks": pack(data.mask_test[:k]),
                               "pred": pack(pred[:k])},
    }
