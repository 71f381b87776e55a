"""A read leaves the model as it was: what its ``forward`` stored on the modules is undone.

Models cache what they compute in ``forward``: timm's LeViT, TinyViT and EfficientFormer keep
``attention_bias_cache[str(x.device)]``, ConViT keeps ``self.rel_indices``. During a read those
values are meta tensors or stand-ins; left behind, the next real forward would use them
("Tensor on device meta is not on the expected device cpu!").

>>> import torch, torch.nn as nn
>>> class Cached(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.cache = {}
...     def forward(self, x):
...         self.last = self.cache.setdefault("k", x.new_zeros(1))
...         return x
>>> m = Cached()
>>> with untouched(m):
...     _ = m(torch.zeros(1, device="meta"))
>>> m.cache, hasattr(m, "last")
({}, False)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import is_
from typing import Any

import torch

from .torch_meta import distinct, walk

__all__ = ["untouched"]

_MISSING = object()
# Managed by the readers themselves (torch_sym redirects module calls per instance and restores them).
_READERS_OWN = frozenset({"_compiled_call_impl"})


@contextmanager
def untouched(module: Any, modules: Sequence[Any] | None = None) -> Iterator[None]:
    """Undo, on exit, every attribute and buffer the model's modules gained or changed inside.

    ``modules``: each module of ``module`` once, when the caller has them (``module.modules()``).
    """
    if modules is None:
        modules = [m for _, m in distinct(walk(module))]
    saved = [(m, m.__dict__, m.__dict__.copy(), m._buffers, m._buffers.copy()) for m in modules]
    try:
        yield
    finally:
        for m, now, attrs, buffers, saved_buffers in saved:  # one loop, no call per module: it runs on every read
            if len(now) != len(attrs) or not all(map(is_, now.values(), attrs.values())):
                _restore(now, attrs)
            if len(buffers) != len(saved_buffers) or not all(map(is_, buffers.values(), saved_buffers.values())):
                buffers.clear()
                buffers.update(saved_buffers)
            for key in _caches(m):
                cache = now.get(key)
                if type(cache) is dict and cache:
                    for k in [k for k, v in cache.items() if _read_artifact(v)]:
                        del cache[k]


_CACHE_KEYS: dict[type, tuple[str, ...]] = {}
_CACHE_KEYS_LIMIT = 4096


def _caches(m: Any) -> tuple[str, ...]:
    """The attributes of ``m``'s class that hold plain dicts of its own (caches), found once per class."""
    keys = _CACHE_KEYS.get(type(m))
    if keys is None:
        if len(_CACHE_KEYS) >= _CACHE_KEYS_LIMIT:  # classes made per model (torch.fx) must not pile up
            _CACHE_KEYS.clear()
        keys = _CACHE_KEYS[type(m)] = tuple(k for k, v in m.__dict__.items() if type(v) is dict and k[0] != "_")
    return keys


def _restore(now: dict[str, Any], attrs: dict[str, Any]) -> None:
    for key in [k for k in now if k not in attrs and k not in _READERS_OWN]:
        del now[key]
    for key, value in attrs.items():
        if key not in _READERS_OWN and now.get(key, _MISSING) is not value:
            now[key] = value


def _read_artifact(value: Any) -> bool:
    """A value only a read makes: a meta tensor or a stand-in (never a real tensor)."""
    if isinstance(value, torch.Tensor):
        return bool(value.is_meta)
    return type(value).__module__.startswith("padstride.")
