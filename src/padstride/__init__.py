"""padstride: padding and stride in convolutional networks, exact, explainable and portable.

>>> import padstride
>>> padstride.conv((224, 225), 3, stride=2, padding="same").pads
((0, 1), (1, 1))

Subpackages: ``geometry`` (pure-Python arithmetic), ``engine`` (NumPy reference ops),
``torch`` (layers in any convention), ``analysis`` (static whole-network analysis),
``studies``, ``viz``. Frameworks are imported lazily, so ``import padstride`` needs no torch.
"""

from .errors import Error
from .geometry import (
    Padding,
    PaddingError,
    conv,
    conv_transpose,
    pool,
)

__version__ = "0.1.0"

__all__ = ["Error", "Padding", "PaddingError", "__version__", "conv", "conv_transpose", "pool"]
