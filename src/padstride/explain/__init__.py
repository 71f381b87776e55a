"""``padstride explain``: one layer's sizes, pads, dropped pixels and code in every framework.

>>> from padstride.explain import explain
>>> explain("conv", (224, 225), 3, stride=2, padding="same").geometry.pads
((0, 1), (1, 1))
"""

from .explanation import Explanation, explain
from .render import render
from .request import OPS, LayerRequest
from .snippets import FrameworkCode, all_frameworks

__all__ = ["OPS", "Explanation", "FrameworkCode", "LayerRequest", "all_frameworks", "explain", "render"]
