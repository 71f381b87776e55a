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
from itertools import chain
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
    # Checked at exit in a few C-level passes over all modules at once (it runs on every read); a module is
    # looked at alone only where something changed.
    attrs = [m.__dict__ for m in modules]
    saved = list(map(dict.copy, attrs))
    lengths = list(map(len, attrs))
    buffers = [m._buffers for m in modules]
    buffer_lengths = list(map(len, buffers))
    held = [(now, now.copy()) for now in buffers if now]  # most modules hold no buffer
    caches = _cache_dicts(modules, attrs)
    try:
        yield
    finally:
        if list(map(len, attrs)) != lengths or not all(map(is_, _values(attrs), _values(saved))):
            for now, then in zip(attrs, saved, strict=True):
                if len(now) != len(then) or not all(map(is_, now.values(), then.values())):
                    _restore(now, then)
        if list(map(len, buffers)) != buffer_lengths:
            for now, n in zip(buffers, buffer_lengths, strict=True):
                if not n and now:  # buffers registered by forward
                    now.clear()
        for now, then in held:
            if len(now) != len(then) or not all(map(is_, now.values(), then.values())):
                now.clear()
                now.update(then)
        for now, key in caches:
            cache = now.get(key)
            if type(cache) is dict and cache:
                for k in [k for k, v in cache.items() if _read_artifact(v)]:
                    del cache[k]


def _values(dicts: list[dict[str, Any]]) -> Iterator[Any]:
    """The values of ``dicts``, one after another."""
    return chain.from_iterable(map(dict.values, dicts))


def _cache_dicts(modules: Sequence[Any], attrs: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """(a module's ``__dict__``, the name of a cache in it), for each cache of the modules (:func:`_caches`)."""
    return [(now, key) for m, now, keys in zip(modules, attrs, map(_CACHE_KEYS.get, map(type, modules)),
                                               strict=True)
            for key in (keys if keys is not None else _caches(m))]


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
