"""The report's figures, as PNG bytes (matplotlib, Agg backend, imported lazily).

>>> from padstride.studies.aggregate import aggregate
>>> t = aggregate([{"study": "s", "variant": "v", "seed": 0, "test_acc": 0.5}])[0]
>>> metric_plot(t)[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from .aggregate import Table
from .samples import unpack

__all__ = ["FIGURES", "border_plot", "cost_plot", "grad_plot", "metric_plot", "samples_plot", "tiling_plot"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    _plt().close(fig)
    return buf.getvalue()


def _colors(n: int) -> list[Any]:
    cmap = _plt().get_cmap("tab10")
    return [cmap(i % 10) for i in range(n)]


def metric_plot(table: Table) -> bytes:
    """Headline metric per variant: mean with ±1 std error bars, each seed as a dot."""
    plt = _plt()
    key, label = table.metric
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(table.rows), 3.4))
    colors = _colors(len(table.rows))
    for i, row in enumerate(table.rows):
        ax.bar(i, row.mean, yerr=row.std, color=colors[i], alpha=0.75, capsize=6)
        ax.scatter([i] * len(row.records), [r.get(key, 0) for r in row.records], color="k", s=12, zorder=3)
    ax.set_xticks(range(len(table.rows)), [r.variant for r in table.rows], rotation=20)
    lo = min((r.mean - r.std for r in table.rows), default=0)
    ax.set_ylim(max(0.0, lo - 0.1), 1.0)
    ax.set_ylabel(f"test {label}")
    ax.set_title(f"{label} per variant (mean ± std, {max(len(r.seeds) for r in table.rows)} seeds)")
    return _png(fig)


def border_plot(table: Table) -> bytes | None:
    """Accuracy against the object's distance to the nearest border, pooled over seeds."""
    if not any(r.get("acc_by_border") for r in table.records):
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for color, row in zip(_colors(len(table.rows)), table.rows, strict=False):
        hits: dict[int, list[int]] = {}
        for r in row.records:
            for d, (h, n) in (r.get("acc_by_border") or {}).items():
                acc = hits.setdefault(int(d), [0, 0])
                acc[0] += h
                acc[1] += n
        ds = sorted(d for d in hits if hits[d][1] >= 5)  # tiny bins say nothing
        ax.plot(ds, [hits[d][0] / hits[d][1] for d in ds], marker="o", color=color, label=row.variant)
    ax.set_xlabel("distance from object to nearest border (px; 0 = touching)")
    ax.set_ylabel("test accuracy")
    ax.set_title("accuracy vs border distance")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def grad_plot(table: Table) -> bytes | None:
    """Mean |gradient| of each layer's weights at initialisation and after training (seed 001 slide 11)."""
    if not any(r.get("grad_final") for r in table.records):
        return None
    plt = _plt()
    layers: list[str] = []
    for r in table.records:
        layers += [k for k in r.get("grad_final", {}) if k not in layers]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    width = 0.8 / max(len(table.rows), 1)
    for ax, when in zip(axes, ("grad_init", "grad_final"), strict=False):
        for i, (color, row) in enumerate(zip(_colors(len(table.rows)), table.rows, strict=False)):
            vals = [np.mean([r.get(when, {}).get(layer, np.nan) for r in row.records]) for layer in layers]
            ax.bar(np.arange(len(layers)) + i * width, vals, width, color=color, label=row.variant)
        ax.set_xticks(np.arange(len(layers)) + 0.4 - width / 2, layers, rotation=30, fontsize=8)
        ax.set_yscale("log")
        ax.set_title("mean |grad| per layer, " + ("at init" if when == "grad_init" else "after training"))
    axes[0].legend(fontsize=7)
    return _png(fig)


def cost_plot(table: Table) -> bytes | None:
    """Parameters, MACs (when known), inference latency and training throughput per variant."""
    plt = _plt()
    panels = [("params", "parameters"), ("macs", "MACs / sample"), ("latency.ms", "latency ms (median)"),
              ("samples_per_s", "train samples/s")]
    panels = [p for p in panels if any(row.avg(p[0]) is not None for row in table.rows)]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2))
    axes = np.atleast_1d(axes)
    names = [r.variant for r in table.rows]
    colors = _colors(len(names))
    for ax, (key, label) in zip(axes, panels, strict=False):
        ax.bar(range(len(names)), [row.avg(key) or 0 for row in table.rows], color=colors)
        ax.set_xticks(range(len(names)), names, rotation=30, fontsize=8)
        ax.set_title(label, fontsize=9)
    lat = table.rows[0].first("latency") or {}
    if lat:
        fig.suptitle(f"latency: batch {lat.get('batch')} × {lat.get('channels')} × "
                     f"{'×'.join(map(str, lat.get('size', [])))}, eval mode, median of {lat.get('repeats')}",
                     fontsize=9)
    return _png(fig)


def samples_plot(table: Table) -> bytes | None:
    """Sample test predictions of each variant (seed 0): labels, or image / true mask / predicted mask."""
    rows = [(row.variant, s) for row in table.rows if (s := row.records[0].get("sample_predictions"))]
    if not rows:
        return None
    plt = _plt()
    if "masks" in rows[0][1]:
        k = unpack(rows[0][1]["images"]).shape[0]
        fig, axes = plt.subplots(len(rows), 3 * k, figsize=(1.3 * 3 * k, 1.5 * len(rows)), squeeze=False)
        for i, (variant, s) in enumerate(rows):
            imgs, masks, preds = unpack(s["images"]), unpack(s["masks"]), unpack(s["pred"])
            for j in range(k):
                for c, (arr, name) in enumerate(((imgs, "image"), (masks, "true"), (preds, "predicted"))):
                    ax = axes[i, 3 * j + c]
                    ax.imshow(arr[j], cmap="gray", vmin=0, vmax=255)
                    ax.set_title(f"{variant}: {name}" if c == 0 else name, fontsize=7)
                    ax.axis("off")
        return _png(fig)
    k = unpack(rows[0][1]["images"]).shape[0]
    fig, axes = plt.subplots(len(rows), k, figsize=(1.1 * k, 1.3 * len(rows)), squeeze=False)
    for i, (variant, s) in enumerate(rows):
        imgs, classes = unpack(s["images"]), s.get("classes") or []
        for j in range(k):
            ax = axes[i, j]
            ax.imshow(imgs[j], cmap="gray", vmin=0, vmax=255)
            pred, label = s["pred"][j], s["label"][j]
            name = classes[pred] if pred < len(classes) else pred
            ax.set_title(f"{variant}: {name}" if j == 0 else f"{name}", fontsize=7,
                         color="green" if pred == label else "red")
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("sample test predictions (seed 0; red = wrong)", fontsize=9)
    return _png(fig)


def tiling_plot(table: Table) -> bytes | None:
    """Overlap-tile inference: tiles needed and the largest stitched-vs-whole difference (seams)."""
    if table.type != "segmentation":
        return None
    plt = _plt()
    names = [r.variant for r in table.rows]
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.2))
    colors = _colors(len(names))
    axes[0].bar(names, [row.avg("tiling.tiles") or 0 for row in table.rows], color=colors)
    axes[0].set_title("tiles for the large image", fontsize=9)
    axes[1].bar(names, [max(row.avg("tiling.max_diff") or 0, 1e-12) for row in table.rows], color=colors)
    axes[1].set_yscale("log")
    axes[1].set_title("max |stitched − whole image| (seams)", fontsize=9)
    axes[2].bar(names, [row.avg("tiling.iou") or 0 for row in table.rows], color=colors)
    axes[2].set_title("IoU on the large image", fontsize=9)
    return _png(fig)


#: Figure builders in report order, with their captions.
FIGURES = (
    (metric_plot, "Headline metric per variant: bars are the mean over seeds, error bars ±1 std, dots the seeds."),
    (border_plot, "Accuracy as a function of how close the object is to the image border."),
    (tiling_plot, "Overlap-tile inference of a larger image: valid tiles stitch without seams."),
    (grad_plot, "Mean |gradient| per layer (seed 001 slide 11), on one test batch."),
    (cost_plot, "Cost: parameters, MACs, inference latency and training throughput."),
    (samples_plot, "Sample predictions."),
)
