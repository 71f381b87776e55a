"""Random networks for the oracle tests: a recipe (list of ops) → a torch module and a hypothesis strategy."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import strategies as st

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONVT = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
MAXP = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
AVGP = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
BN = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


class RecipeNet(nn.Module):
    """Runs ``recipe`` (a list of op tuples); op ``("add", j)`` / ``("cat", j)`` merge with tensor ``j``."""

    def __init__(self, recipe: list[tuple[Any, ...]], c_in: int, nd: int) -> None:
        super().__init__()
        self.recipe, self.nd = recipe, nd
        self.layers = nn.ModuleList()
        chans = [c_in]
        for op in recipe:
            c = chans[-1]
            kind = op[0]
            if kind == "conv":
                _, c_out, k, s, p, d, g = op
                self.layers.append(CONV[nd](c, c_out, k, s, p, d, groups=g))
                chans.append(c_out)
            elif kind == "convT":
                _, c_out, k, s, p, o, d = op
                self.layers.append(CONVT[nd](c, c_out, k, s, p, o, dilation=d))
                chans.append(c_out)
            elif kind == "max":
                _, k, s, p, d, ceil = op
                self.layers.append(MAXP[nd](k, s, p, d, ceil_mode=ceil))
                chans.append(c)
            elif kind == "avg":
                _, k, s, p, ceil, cip = op
                self.layers.append(AVGP[nd](k, s, p, ceil_mode=ceil, count_include_pad=cip))
                chans.append(c)
            elif kind == "bn":
                self.layers.append(BN[nd](c))
                chans.append(c)
            elif kind == "up":
                self.layers.append(nn.Upsample(scale_factor=op[1], mode=op[2]))
                chans.append(c)
            elif kind == "cat":
                self.layers.append(nn.Identity())
                chans.append(c + chans[op[1]])
            else:  # pad, crop, add, relu
                self.layers.append(nn.Identity())
                chans.append(c)
        self.chans = chans

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [x]
        for op, layer in zip(self.recipe, self.layers, strict=True):
            kind, y = op[0], outs[-1]
            if kind == "pad":
                y = F.pad(y, list(op[1]))
            elif kind == "crop":
                y = y[(..., *[slice(c, -c) for c in op[1]])]
            elif kind == "relu":
                y = F.relu(y)
            elif kind == "add":
                y = y + outs[op[1]]
            elif kind == "cat":
                y = torch.cat([y, outs[op[1]]], dim=1)
            else:
                y = layer(y)
            outs.append(y)
        return outs[-1]


@st.composite
def recipes(draw: Any, nd: int | None = None, rf_safe: bool = False) -> tuple[Any, int, tuple[int, ...], int]:
    """``(recipe, c_in, spatial input size, nd)``. ``rf_safe`` keeps ops whose gradient covers the whole RF."""
    nd = nd or draw(st.sampled_from([1, 2, 2, 3]))
    hi = {1: 48, 2: 28, 3: 10}[nd]
    size = tuple(draw(st.integers(hi // 3, hi)) for _ in range(nd))
    c_in = draw(st.integers(1, 3))
    chans = [c_in]
    recipe: list[tuple[Any, ...]] = []
    kinds = ["conv", "conv", "avg", "pad", "add", "cat", "crop"] if rf_safe else \
        ["conv", "conv", "convT", "max", "avg", "pad", "bn", "up", "relu", "add", "cat", "crop"]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(kinds))
        c = chans[-1]

        def axes(lo: int, hi: int) -> tuple[int, ...]:
            return tuple(draw(st.integers(lo, hi)) for _ in range(nd))

        if kind == "conv":
            k, s, d = axes(1, 4), axes(1, 3), axes(1, 2)
            p: Any = draw(st.sampled_from(["valid", "same", "int"]))
            if p == "same" and any(v > 1 for v in s):
                p = "valid"
            if p == "int":
                p = axes(0, 2)
            g = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
            c_out = g * draw(st.integers(1, 3))
            if rf_safe:
                g, c_out = 1, draw(st.integers(1, 2))
            recipe.append(("conv", c_out, k, s, p, d, g))
            chans.append(c_out)
        elif kind == "convT":
            k, s, d = axes(1, 4), axes(1, 3), axes(1, 2)
            p = tuple(draw(st.integers(0, (d[i] * (k[i] - 1)) // 2)) for i in range(nd))
            o = tuple(draw(st.integers(0, max(s[i], d[i]) - 1)) for i in range(nd))
            recipe.append(("convT", draw(st.integers(1, 4)), k, s, p, o, d))
            chans.append(recipe[-1][1])
        elif kind == "max":
            k, d = axes(1, 3), axes(1, 2)
            s = axes(1, 3)
            p = tuple(draw(st.integers(0, k[i] // 2)) for i in range(nd))
            recipe.append(("max", k, s, p, d, draw(st.booleans())))
            chans.append(c)
        elif kind == "avg":
            k = axes(1, 3)
            s = axes(1, 3)
            p = tuple(draw(st.integers(0, k[i] // 2)) for i in range(nd))
            recipe.append(("avg", k, s, p, False if rf_safe else draw(st.booleans()), draw(st.booleans())))
            chans.append(c)
        elif kind == "pad":
            recipe.append(("pad", tuple(draw(st.integers(-1 if not rf_safe else 0, 2)) for _ in range(2 * nd))))
            chans.append(c)
        elif kind == "crop":
            recipe.append(("crop", axes(1, 2)))
            chans.append(c)
        elif kind == "up":
            recipe.append(("up", draw(st.sampled_from([2, 3])), draw(st.sampled_from(["nearest"]))))
            chans.append(c)
        elif kind in ("bn", "relu"):
            recipe.append((kind,))
            chans.append(c)
        elif kind in ("add", "cat") and len(chans) > 1:
            j = draw(st.integers(0, len(chans) - 2))
            if kind == "add" and chans[j] != c:
                continue
            recipe.append((kind, j))
            chans.append(c + chans[j] if kind == "cat" else c)
    if not recipe:
        recipe.append(("relu",))
    return recipe, c_in, size, nd
