"""Overlap-tile inference (Ronneberger et al. 2015): segment a large image tile by tile.

A ``valid`` network maps an input tile to a smaller output tile; each output tile is predicted
from its input tile with a margin of real context (mirrored at the image border), so the
stitched result equals one inference on the whole (mirrored) image: no seams. A ``same`` network
sees zero padding at every tile edge, so non-overlapping tiles show seams.

>>> import torch
>>> from padstride.studies.unet import UNet
>>> net = UNet("valid", depth=1, base=2).eval()
>>> r = overlap_tile(net, torch.rand(1, 1, 30, 30), in_tile=24)
>>> r["tiles"], r["out_tile"], r["max_diff"] < 1e-5
(16, 8, True)
"""

from __future__ import annotations

from typing import Any

from ..geometry import centre_crop

__all__ = ["overlap_tile"]


def overlap_tile(model: Any, image: Any, in_tile: int) -> dict[str, Any]:
    """Predict ``image`` (1×C×H×W) with ``in_tile``² tiles; compare with one whole-image inference.

    Returns the stitched ``output`` (H×W), the number of ``tiles``, the ``out_tile`` size, the
    ``margin`` of context per side and ``max_diff`` = max |stitched − whole-image| (0 up to float
    rounding means no seams).

    >>> import torch
    >>> valid = torch.nn.Conv2d(1, 1, 3)              # a VALID conv: each output needs a 1-pixel margin
    >>> result = overlap_tile(valid, torch.rand(1, 1, 10, 10), in_tile=6)
    >>> result["tiles"], result["out_tile"], result["margin"], result["max_diff"] < 1e-5
    (9, 4, 1, True)
    """
    import torch
    import torch.nn.functional as F

    with torch.inference_mode():
        probe = model(torch.zeros(1, image.shape[1], in_tile, in_tile))
        out_tile = int(probe.shape[-1])
        margin, _ = centre_crop(in_tile, out_tile)
        h, w = image.shape[-2:]
        rows, cols = -(-h // out_tile), -(-w // out_tile)
        cover_h, cover_w = rows * out_tile, cols * out_tile
        x = image
        if margin:  # mirror the border for context, as the U-Net paper does
            x = F.pad(x, (margin, margin, margin, margin), mode="reflect")
        x = F.pad(x, (0, cover_w - w, 0, cover_h - h))  # round up to whole tiles
        stitched = torch.zeros(probe.shape[1], cover_h, cover_w)
        for r in range(rows):
            for c in range(cols):
                tile = x[..., r * out_tile:r * out_tile + in_tile, c * out_tile:c * out_tile + in_tile]
                stitched[:, r * out_tile:(r + 1) * out_tile, c * out_tile:(c + 1) * out_tile] = model(tile)[0]
        whole = model(x)[0]
    diff = (stitched - whole).abs()
    return {"output": stitched[..., :h, :w], "tiles": rows * cols, "out_tile": out_tile, "margin": margin,
            "max_diff": float(diff.max()), "image": [int(h), int(w)]}
