"""``from_keras`` on ``keras.applications`` models (``weights=None``, odd sizes): outputs vs Keras.

The logits (``classifier_activation=None``) of the PyTorch port must equal Keras' within 1e-4 of
their scale, with batch-norm statistics and scales drawn at random (``randomize_norms``: fresh
ones are the identity, and a deep random network then amplifies rounding without bound). The
list and sizes are in ``tests/_keras_apps.py`` (one or two models per family by default;
``PADSTRIDE_KERAS_APPS=all`` ports all 39).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from padstride.torch import from_keras
from tests import _keras_apps

keras = pytest.importorskip("keras")


@pytest.mark.parametrize("name", _keras_apps.params())
def test_from_keras_ports_the_application(name: str) -> None:
    model = _keras_apps.build(name, classifier_activation=None)
    _keras_apps.randomize_norms(model)
    x = np.random.default_rng(0).uniform(0, 255, (2, *model.inputs[0].shape[1:])).astype("float32")
    want = keras.ops.convert_to_numpy(model(x, training=False))
    net = from_keras(model)
    with torch.no_grad():
        got = net(torch.from_numpy(x).movedim(-1, 1)).numpy()
    assert got.shape == want.shape
    rel = float(np.abs(got - want).max() / np.abs(want).max())
    print(f"{name}: max |torch − keras| / max |keras| = {rel:.2e}")
    assert rel < 1e-4, rel
    assert sum(p.numel() for p in net.parameters()) == sum(int(np.prod(w.shape)) for w in model.trainable_weights)
