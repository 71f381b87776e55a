"""The zoo: which models, at which sizes, built how; and the real forward that is the oracle.

``MODELS`` lists, per zoo, one model per architecture family (timm: the smallest variant of each
family of ``timm.list_models()``; torchvision: every classification family) with two input sizes
it runs at, odd where the model allows (vit-like models have a fixed size, passed at creation).
``SKIPPED`` says why a family is left out. ``tests/zoo/pick.py`` regenerates both.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ._models import FIXED_SIZE, MODELS, SKIPPED

__all__ = ["FIXED_SIZE", "MODELS", "SKIPPED", "build", "cases", "forward_shapes"]


def cases() -> list[tuple[str, str, int]]:
    """``(zoo, model, size)`` for every model and both of its sizes."""
    return [(zoo, name, size) for zoo, models in MODELS.items() for name, sizes in models.items() for size in sizes]


def _builder(zoo: str, name: str) -> Callable[..., Any]:
    if zoo == "timm":
        import timm

        return functools.partial(timm.create_model, name, pretrained=False)
    from torchvision import models

    return functools.partial(models.get_model_builder(name), weights=None)


def build(zoo: str, name: str, size: int) -> tuple[Any, tuple[int, int, int]]:
    """The model in eval mode (random init, no download) and its per-sample input shape.

    One model is cached: a model's sizes run one after the other on one worker (``xdist_group``).
    A model with a fixed input size is built for ``size``.
    """
    key = FIXED_SIZE.get(f"{zoo}/{name}")
    model = _model(zoo, name, key, size if key else 0)
    cfg = getattr(model, "pretrained_cfg", None) or {}
    return model, (int(cfg.get("input_size", (3,))[0]), size, size)


@functools.lru_cache(maxsize=1)
def _model(zoo: str, name: str, key: str | None, size: int) -> Any:
    kwargs = {} if key is None else {key: (size, size) if key == "input_size" else size}
    return _builder(zoo, name)(**kwargs).eval()


def forward_shapes(model: Any, shape: tuple[int, ...]) -> tuple[Any, dict[str, list[tuple[int, ...] | None]]]:
    """A real forward at batch 1: the output, and per module path the per-sample shape of each call
    (``None`` where the module returned something other than one tensor)."""
    import torch

    seen: dict[str, list[tuple[int, ...] | None]] = {}

    def hook(path: str) -> Callable[..., None]:
        def record(module: Any, args: Any, output: Any) -> None:
            shape = tuple(output.shape[1:]) if isinstance(output, torch.Tensor) and output.dim() > 0 else None
            seen.setdefault(path, []).append(shape)

        return record

    handles = [m.register_forward_hook(hook(path)) for path, m in model.named_modules() if path]
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, *shape))
    finally:
        for h in handles:
            h.remove()
    return out, seen
