"""The Keras models of the seed documents, as builders and as zero-argument factories (Keras 3).

The builders take the padding and the sizes (small inputs keep tests fast); the factories build
the seeds' own configurations for ``padstride summary examples/seed_models.py:NAME`` and carry the
names of their PyTorch twins in ``examples/torch_models.py``. ``SEED_MODELS`` names the
configurations that padstride reproduces in PyTorch with :func:`padstride.torch.from_keras`
(``tests/torchlayers/test_from_keras.py``). Keras runs on the torch backend unless
``KERAS_BACKEND`` says otherwise (TensorFlow is not a dependency).

>>> seed001_slide4_cnn("same").output_shape
(None, 10)
>>> from padstride.analysis import analyze
>>> analyze(seed003_strided()).total_params
85770
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

__all__ = [
    "SEED_MODELS",
    "cnn3d_same",
    "cnn3d_valid",
    "mnist_cnn_same",
    "mnist_cnn_valid",
    "seed001_slide4_cnn",
    "seed001_slide12_unet",
    "seed001_slide14_cnn3d",
    "seed003_cnn",
    "seed003_same",
    "seed003_strided",
    "seed003_valid",
    "seed004_cnn",
    "seed004_strided",
    "unet_same",
]


# -- builders -----------------------------------------------------------------------------------
def seed001_slide4_cnn(padding: str = "same", input_shape: tuple[int, ...] = (28, 28, 1)) -> Any:
    """Seed 001, slides 4 and 8–10 (``create_cnn_model``): three 3×3 convs, two 2×2 max-pools, two Dense."""
    from keras import Input, Sequential, layers

    return Sequential([
        Input(input_shape),
        layers.Conv2D(32, (3, 3), activation="relu", padding=padding),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu", padding=padding),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu", padding=padding),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def seed003_cnn(
    padding: str = "valid", strides: int | tuple[int, ...] = 1, input_shape: tuple[int, ...] = (28, 28, 1)
) -> Any:
    """Seed 003: three 3×3 convs of 32 filters (``strides``: one for all, or one per conv), Dense 128/10."""
    from keras import Input, Sequential, layers

    per_conv = (strides,) * 3 if isinstance(strides, int) else strides
    convs = [layers.Conv2D(32, (3, 3), strides=s, padding=padding, activation="relu") for s in per_conv]
    return Sequential([
        Input(input_shape), *convs, layers.Flatten(),
        layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax"),
    ])


def seed004_cnn(padding: str = "valid", strided: bool = False, input_shape: tuple[int, ...] = (28, 28, 1)) -> Any:
    """Seed 004: like seed 003; its strided model has stride 2 in the first two convs only."""
    return seed003_cnn(padding, (2, 2, 1) if strided else 1, input_shape)


def seed001_slide12_unet(
    input_size: tuple[int, int, int] = (256, 256, 1), padding: str = "same", filters: int = 64
) -> Any:
    """Seed 001, slide 12 (``unet``): the small U-Net (``filters`` scales the widths 64/128/256).

    With ``padding='valid'`` the seed's model cannot be built: the skip connections no longer
    line up for concatenation (114×114 vs 122×122 at 256; the U-Net paper crops them); Keras
    raises a ValueError.
    """
    from keras import Input, Model, layers

    def conv_block(x: Any, f: int) -> Any:
        x = layers.Conv2D(f, 3, padding=padding, activation="relu")(x)
        return layers.Conv2D(f, 3, padding=padding, activation="relu")(x)

    inputs = Input(input_size)
    conv1 = conv_block(inputs, filters)
    pool1 = layers.MaxPooling2D(pool_size=(2, 2))(conv1)
    conv2 = conv_block(pool1, 2 * filters)
    pool2 = layers.MaxPooling2D(pool_size=(2, 2))(conv2)
    conv3 = conv_block(pool2, 4 * filters)
    up4 = layers.concatenate([layers.UpSampling2D(size=(2, 2))(conv3), conv2])
    conv4 = conv_block(up4, 2 * filters)
    up5 = layers.concatenate([layers.UpSampling2D(size=(2, 2))(conv4), conv1])
    conv5 = conv_block(up5, filters)
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(conv5)
    return Model(inputs=inputs, outputs=outputs)


def seed001_slide14_cnn3d(padding: str = "same", input_shape: tuple[int, ...] = (64, 64, 64, 1)) -> Any:
    """Seed 001, slide 14 (``create_3d_cnn``): a 3-D CNN (a small ``input_shape`` such as (16, 16, 16, 1) in tests)."""
    from keras import Input, Sequential, layers

    return Sequential([
        Input(input_shape),
        layers.Conv3D(32, (3, 3, 3), activation="relu", padding=padding),
        layers.MaxPooling3D((2, 2, 2)),
        layers.Conv3D(64, (3, 3, 3), activation="relu", padding=padding),
        layers.MaxPooling3D((2, 2, 2)),
        layers.Conv3D(64, (3, 3, 3), activation="relu", padding=padding),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])


# -- the seeds' own configurations (zero-argument, for `padstride summary FILE.py:NAME`) ---------
def seed003_valid() -> Any:
    """Seed 003 ``valid``: 2,002,698 params."""
    return seed003_cnn("valid")


def seed003_same() -> Any:
    """Seed 003 ``same``: 3,231,498 params."""
    return seed003_cnn("same")


def seed003_strided() -> Any:
    """Seed 003, stride 2 three times: 85,770 params."""
    return seed003_cnn("same", 2)


def seed004_strided() -> Any:
    """Seed 004, strides 2, 2, 1: 220,938 params."""
    return seed004_cnn("same", strided=True)


def mnist_cnn_valid() -> Any:
    """Seed 001 slide 9 at 28×28, ``valid`` (``--input 32,32,1`` or ``64,64,1`` for the other sizes)."""
    return seed001_slide4_cnn("valid")


def mnist_cnn_same() -> Any:
    """Seed 001 slide 9 at 28×28, ``same``."""
    return seed001_slide4_cnn("same")


def unet_same() -> Any:
    """Seed 001 slide 12 with ``same`` padding, 256×256."""
    return seed001_slide12_unet(padding="same")


def cnn3d_same() -> Any:
    """Seed 001 slide 14, ``same``, 64³."""
    return seed001_slide14_cnn3d("same")


def cnn3d_valid() -> Any:
    """Seed 001 slide 14, ``valid``, 64³."""
    return seed001_slide14_cnn3d("valid")


#: name → builder of the seed configurations checked by the tests (small inputs where needed)
SEED_MODELS: dict[str, Callable[[], Any]] = {
    "001-slide4-valid": mnist_cnn_valid,
    "001-slide4-same": mnist_cnn_same,
    "003-valid": seed003_valid,
    "003-same": seed003_same,
    "003-strided": seed003_strided,
    "004-valid": lambda: seed004_cnn("valid"),
    "004-same": lambda: seed004_cnn("same"),
    "004-strided": seed004_strided,
    "001-slide12-unet-same": lambda: seed001_slide12_unet((32, 32, 1), "same", filters=8),
    "001-slide14-cnn3d-same": lambda: seed001_slide14_cnn3d("same", (12, 12, 12, 1)),
    "001-slide14-cnn3d-valid": lambda: seed001_slide14_cnn3d("valid", (22, 22, 22, 1)),
}
