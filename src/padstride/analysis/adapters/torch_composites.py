"""Known third-party ``forward`` methods the stand-in trace reads without running them, node for node.

timm builds most of its models from a few layers that are a ``torch.nn`` norm with its activation
(``BatchNormAct2d``: ``F.batch_norm`` on the layer's own weights, then ``self.drop``, ``self.act``).
Traced, each call goes through an assertion on the rank, a meta stand-in per weight and buffer and
torch's function dispatch; :func:`composite` gives, per ``forward`` function, a reader that builds the
same nodes directly (the norm named and typed as the trace names it, ``F.batch_norm``) and calls the
child modules as ``forward`` does, so they are recorded with their own paths. Keyed by the function's
``__module__`` and ``__qualname__``: a subclass that overrides ``forward`` (or an instance that
replaces it) is traced as before, and padstride never imports timm. A reader returns ``None`` where
the trace must decide (training mode, timm's fast-norm flag, a batch folded away, weights already
counted): nothing was recorded, and ``forward`` runs.

>>> composite(type("Nothing", (), {"forward": lambda self, x: x})) is None
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["composite"]


class Reader(Protocol):
    """What a composite reader asks of the trace (:class:`.torch_sym._Converter`)."""

    def fused_norm(self, x: Any, fn: str, weight: Any, bias: Any, rank: int | None = None) -> Any:
        """``F.<fn>(x, …, weight, bias)`` recorded as the trace records it, or ``None`` where it must run."""

    def child(self, module: Any, x: Any) -> Any:
        """``module(x)``, as ``forward`` calls it."""


Composite = Callable[[Reader, Any, Any], Any]


def _batch_norm_act(r: Reader, m: Any, x: Any) -> Any:
    """timm ``BatchNormAct2d``: ``_assert(x.ndim == 4)``, ``F.batch_norm`` (eval mode), ``drop``, ``act``."""
    if m.training:
        return None
    y = r.fused_norm(x, "batch_norm", m.weight, m.bias, rank=4)
    return None if y is None else r.child(m.act, r.child(m.drop, y))


def _norm_act(fn: str) -> Composite:
    """timm ``GroupNormAct`` / ``GroupNorm1Act`` / ``LayerNormAct``: ``F.<fn>``, ``drop``, ``act``."""
    def read(r: Reader, m: Any, x: Any) -> Any:
        if m.__dict__.get("_fast_norm", True) is not False:
            return None
        y = r.fused_norm(x, fn, m.weight, m.bias)
        return None if y is None else r.child(m.act, r.child(m.drop, y))

    return read


def _norm(fn: str) -> Composite:
    """timm ``LayerNorm`` / ``GroupNorm1``: ``F.<fn>`` on the layer's weights."""
    def read(r: Reader, m: Any, x: Any) -> Any:
        if m.__dict__.get("_fast_norm", True) is not False:
            return None
        return r.fused_norm(x, fn, m.weight, m.bias)

    return read


def _sequential(r: Reader, m: Any, x: Any) -> Any:
    """``torch.nn.Sequential``: each child on the output of the one before (``for module in self``)."""
    if type(m).__iter__ is not _sequential_iter():
        return None
    for module in m._modules.values():
        x = r.child(module, x)
    return x


def _conv_norm_act(r: Reader, m: Any, x: Any) -> Any:
    """timm ``ConvNormAct``: ``conv``, ``bn`` (a norm + activation), then ``aa`` where it is set."""
    x = r.child(m.bn, r.child(m.conv, x))
    aa = getattr(m, "aa", None)
    return x if aa is None else r.child(aa, x)


def _sequential_iter() -> Any:
    import torch.nn as nn

    return nn.Sequential.__iter__


_COMPOSITES: dict[str, Composite] = {
    "torch.nn.modules.container.Sequential.forward": _sequential,
    "timm.layers.conv_bn_act.ConvNormAct.forward": _conv_norm_act,
    "timm.layers.norm_act.BatchNormAct2d.forward": _batch_norm_act,
    "timm.layers.norm_act.GroupNormAct.forward": _norm_act("group_norm"),
    "timm.layers.norm_act.GroupNorm1Act.forward": _norm_act("group_norm"),
    "timm.layers.norm_act.LayerNormAct.forward": _norm_act("layer_norm"),
    "timm.layers.norm.LayerNorm.forward": _norm("layer_norm"),
    "timm.layers.norm.GroupNorm1.forward": _norm("group_norm"),
}


def composite(cls: Any) -> Composite | None:
    """The reader of ``cls.forward`` where it is a known composite (decide once per class)."""
    forward = getattr(cls, "forward", None)
    key = f"{getattr(forward, '__module__', '')}.{getattr(forward, '__qualname__', '')}"
    return _COMPOSITES.get(key)
