"""Training and measuring: a lean loop (no per-step ``.item()``, no per-sample Python), eval, latency, grads.

>>> import torch
>>> from padstride.studies.models import build_classifier
>>> torch.manual_seed(0) and None
>>> model = build_classifier("slide11", input_shape=(1, 8, 8), num_classes=2, width=0.25)
>>> x, y = torch.rand(32, 1, 8, 8), torch.randint(0, 2, (32,))
>>> fit(model, x, y, epochs=1, batch_size=16)["samples"]
32
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Interrupted", "fit", "grad_magnitudes", "latency_ms", "predict", "random_pad_crop", "set_threads"]


class Interrupted(Exception):
    """The run's time budget ran out mid-record; the record is not written."""


def set_threads(threads: int = 0) -> int:
    """Use ``threads`` CPU threads in torch (0 = every core this process may use); returns the count.

    >>> set_threads(1)
    1
    """
    import torch

    if threads <= 0:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    return threads


def random_pad_crop(x: Any, max_pad: int, mode: str, generator: Any) -> Any:
    """Slide 13's augmentation, batched: pad every side by ``max_pad`` (``mode``) then crop back at a random offset.

    ``mode`` is ``constant`` (zeros), ``reflect``, ``replicate`` or ``circular``; each sample gets its
    own offset, gathered with one indexing op (no Python loop over samples).

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> random_pad_crop(torch.rand(5, 1, 8, 8), 2, "reflect", g).shape
    torch.Size([5, 1, 8, 8])
    """
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    padded = F.pad(x, (max_pad,) * 4, mode=mode)
    oy = torch.randint(0, 2 * max_pad + 1, (n, 1), generator=generator)
    ox = torch.randint(0, 2 * max_pad + 1, (n, 1), generator=generator)
    rows = (oy + torch.arange(h))[:, None, :, None]  # n×1×h×1
    cols = (ox + torch.arange(w))[:, None, None, :]  # n×1×1×w
    batch = torch.arange(n)[:, None, None, None]
    chan = torch.arange(x.shape[1])[None, :, None, None]
    return padded[batch, chan, rows, cols]


def fit(
    model: Any,
    x: Any,
    y: Any,
    epochs: int = 1,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    loss: str = "ce",
    augment: Callable[[Any, Any], Any] | None = None,
    deadline: float | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Train ``model`` with Adam on in-memory tensors; returns time, samples and samples/s.

    ``loss``: ``ce`` (labels) or ``bce`` (masks, logits). ``deadline`` (``time.time()``) raises
    :class:`Interrupted` when passed. ``on_step(done, total)`` reports progress in steps.

    >>> import torch
    >>> x, y = torch.rand(16, 1, 4, 4), torch.randint(0, 2, (16,))
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    >>> fit(model, x, y, epochs=2, batch_size=8)["samples"]
    32
    """
    import torch
    import torch.nn.functional as F

    loss_fn = F.cross_entropy if loss == "ce" else F.binary_cross_entropy_with_logits
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    n = len(x)
    steps_per_epoch = -(-n // batch_size)
    total, done = epochs * steps_per_epoch, 0
    model.train()
    running = torch.zeros(())
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        running = torch.zeros(())
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            xb, yb = x[idx], y[idx]
            if augment is not None:
                xb = augment(xb, gen)
            out = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            out.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            opt.step()
            running += out.detach()
            done += 1
            if on_step is not None:
                on_step(done, total)
            if deadline is not None and time.time() > deadline:
                raise Interrupted("time budget spent during training")
    elapsed = time.perf_counter() - start
    return {"train_time_s": elapsed, "samples": epochs * n, "samples_per_s": epochs * n / elapsed,
            "final_loss": float(running) / steps_per_epoch, "steps": total}


def predict(model: Any, x: Any, batch_size: int = 512) -> Any:
    """Model outputs for ``x`` in eval mode (no autograd), batched.

    >>> import torch
    >>> predict(torch.nn.Identity(), torch.zeros(3, 2)).shape
    torch.Size([3, 2])
    """
    import torch

    model.eval()
    with torch.inference_mode():
        return torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


_WRAPPERS = {"op", "conv", "pool", "inner", "module", "features", "head"}


def _layer_label(name: str) -> str:
    """``features.conv1.op.weight`` → ``conv1``: the parameter's layer, without container and wrapper names.

    >>> _layer_label("features.conv1.op.weight"), _layer_label("down.0.2.weight"), _layer_label("weight")
    ('conv1', 'down.0.2', 'weight')
    """
    parts = name.split(".")[:-1]
    kept = [p for p in parts if p not in _WRAPPERS]
    return ".".join(kept or parts[-1:] or ["weight"])


def grad_magnitudes(model: Any, x: Any, y: Any, loss: str = "ce") -> dict[str, float]:
    """Mean |gradient| of each layer's weight for one batch (seed 001 slide 11).

    >>> import torch
    >>> list(grad_magnitudes(torch.nn.Linear(2, 2), torch.rand(4, 2), torch.tensor([0, 1, 0, 1])))
    ['weight']
    """
    import torch.nn.functional as F

    loss_fn = F.cross_entropy if loss == "ce" else F.binary_cross_entropy_with_logits
    model.train()
    model.zero_grad(set_to_none=True)
    loss_fn(model(x), y).backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
    out = {}
    for name, param in model.named_parameters():
        if param.grad is not None and param.dim() > 1 and name.endswith("weight"):
            out[_layer_label(name)] = float(param.grad.abs().mean())
    model.zero_grad(set_to_none=True)
    return out


def latency_ms(model: Any, shape: tuple[int, ...], warmup: int = 3, repeats: int = 10) -> float:
    """Median inference time in ms of ``model`` on a random batch of ``shape`` (eval, no autograd).

    >>> import torch
    >>> latency_ms(torch.nn.Identity(), (1, 3), warmup=1, repeats=3) >= 0
    True
    """
    import torch

    model.eval()
    x = torch.rand(*shape)
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        for _ in range(repeats):
            t = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)
