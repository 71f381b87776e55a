"""One real forward pass, recorded by module path: the oracle the torch readers are compared with."""

from __future__ import annotations

from collections.abc import Callable

import torch


def real_shapes(net: torch.nn.Module, *xs: torch.Tensor) -> tuple[dict[str, tuple[int, ...]], list[tuple[int, ...]]]:
    """Per-sample output shape of every named module (its first call) and of each distinct output tensor."""
    shapes: dict[str, tuple[int, ...]] = {}

    def hook(name: str) -> Callable[..., None]:
        def record(module: object, args: object, out: object) -> None:
            if isinstance(out, torch.Tensor):
                shapes.setdefault(name, tuple(out.shape[1:]))

        return record

    hooks = [m.register_forward_hook(hook(name)) for name, m in net.named_modules() if name]
    try:
        with torch.no_grad():
            out = net(*xs)
    finally:
        for h in hooks:
            h.remove()
    values = out.values() if isinstance(out, dict) else out if isinstance(out, (list, tuple)) else [out]
    tensors = list({id(t): t for t in values if isinstance(t, torch.Tensor)}.values())
    return shapes, [tuple(t.shape[1:]) for t in tensors]
