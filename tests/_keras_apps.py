"""Every ``keras.applications`` model Keras 3 builds on the torch backend, at a small odd size.

Shared by the analysis test (shapes and parameters per layer) and the port test (outputs).
Building a model with random weights is what costs (1–60 s each on two cores), so the default run
takes one or two models per family (``FAST``, covering every layer class the applications use);
``PADSTRIDE_KERAS_APPS=all`` runs all of them (``ALL``). NASNetMobile is refused by Keras on
the torch backend ("an outstanding bug"), so it is not in the list.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

#: name → (input size, extra keyword arguments). Sizes are odd (and ≥ the family's minimum).
SIZES: dict[str, tuple[int, dict[str, Any]]] = {
    **{f"ConvNeXt{v}": (33, {}) for v in ("Tiny", "Small", "Base", "Large", "XLarge")},
    **{f"DenseNet{v}": (33, {}) for v in (121, 169, 201)},
    **{f"EfficientNetB{i}": (33, {}) for i in range(8)},
    **{f"EfficientNetV2{v}": (33, {}) for v in ("B0", "B1", "B2", "B3", "S", "M", "L")},
    "InceptionResNetV2": (75, {}), "InceptionV3": (77, {}),
    "MobileNet": (35, {"alpha": 0.25}), "MobileNetV2": (35, {"alpha": 0.35}),
    "MobileNetV3Small": (35, {}), "MobileNetV3Large": (35, {"alpha": 0.75}),
    "NASNetLarge": (33, {}),
    **{f"ResNet{v}": (33, {}) for v in ("50", "101", "152", "50V2", "101V2", "152V2")},
    "VGG16": (33, {}), "VGG19": (33, {}), "Xception": (71, {}),
}
ALL = sorted(SIZES)
#: One per family (both MobileNetV3s, both ResNet kinds) within the time budget (on an idle 2-core
#: machine: the analysis file 26 s, the port file 96 s; all 39: 100 s and ~12 min). NASNetLarge's
#: cells (separable convolutions, crops, SAME pooling) have their own small tests.
FAST = ["ConvNeXtTiny", "DenseNet121", "EfficientNetB0", "EfficientNetV2B0", "InceptionResNetV2", "InceptionV3",
        "MobileNet", "MobileNetV2", "MobileNetV3Large", "MobileNetV3Small", "ResNet50", "ResNet50V2", "VGG16",
        "Xception"]
RUN_ALL = os.environ.get("PADSTRIDE_KERAS_APPS") == "all"


def params() -> list[Any]:
    """``pytest.param`` per model: the ``FAST`` ones always, the rest with ``PADSTRIDE_KERAS_APPS=all``."""
    skip = pytest.mark.skipif(not RUN_ALL, reason="set PADSTRIDE_KERAS_APPS=all to build every application")
    return [pytest.param(n) if n in FAST else pytest.param(n, marks=[pytest.mark.slow, skip]) for n in ALL]


def build(name: str, **kw: Any) -> Any:
    """The application ``name`` at its size, ``weights=None``, seeded."""
    import keras

    keras.utils.set_random_seed(0)
    size, extra = SIZES[name]
    factory: Callable[..., Any] = getattr(keras.applications, name)
    return factory(input_shape=(size, size, 3), weights=None, **{**extra, **kw})


def randomize_norms(model: Any, seed: int = 0) -> None:
    """Give every BatchNormalization non-trivial statistics and a scale below 1.

    Fresh statistics (mean 0, variance 1) make batch norm the identity at inference, so a deep
    random network amplifies its activations and any rounding difference block after block
    (EfficientNetV2L at 33 px: logits near 5·10⁵; port and Keras differ by 1e-4 at block 5d, 1e-2
    at block 5k and 0.75 of the scale at the logits, 0.74 even in float64). Scales in [0.3, 0.7]
    keep the activations bounded, and the port is checked with statistics that are not the identity.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    for layer in _all_layers(model):
        if type(layer).__name__ == "BatchNormalization":
            c = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.uniform(-0.1, 0.1, c).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, c).astype("float32"))
            if layer.gamma is not None:
                layer.gamma.assign(rng.uniform(0.3, 0.7, c).astype("float32"))


def _all_layers(model: Any) -> list[Any]:
    out = []
    for layer in model.layers:
        out.append(layer)
        if hasattr(layer, "layers"):
            out.extend(_all_layers(layer))
    return out
