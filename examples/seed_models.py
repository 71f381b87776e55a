"""The Keras models of the seed documents, as builders (Keras 3; any backend).

Each builder takes the padding (and the sizes where the seed's would be slow in tests) and
returns a built model. ``SEED_MODELS`` names the configurations that padstride reproduces in
PyTorch with :func:`padstride.torch.from_keras` (see ``tests/torchlayers/test_from_keras.py``).

>>> import os; os.environ.setdefault("KERAS_BACKEND", "torch")
'torch'
>>> seed001_slide4_cnn("same").output_shape
(None, 10)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "SEED_MODELS",
    "seed001_slide4_cnn",
    "seed001_slide12_unet",
    "seed001_slide14_cnn3d",
    "seed003_cnn",
    "seed004_cnn",
]


def seed001_slide4_cnn(padding: str = "same", input_shape: tuple[int, ...] = (28, 28, 1)) -> Any:
    """Seed 001, slides 4 and 8–10: three 3×3 convs, two 2×2 max-pools, Flatten, two Dense."""
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


def seed003_cnn(padding: str = "valid", strides: int = 1, input_shape: tuple[int, ...] = (28, 28, 1)) -> Any:
    """Seed 003: three 3×3 convs of 32 filters (``valid``, ``same``, or ``same`` with stride 2), Dense 128/10."""
    from keras import Input, Sequential, layers

    convs = [
        layers.Conv2D(32, (3, 3), strides=strides, padding=padding, activation="relu") for _ in range(3)
    ]
    return Sequential([
        Input(input_shape), *convs, layers.Flatten(),
        layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax"),
    ])


def seed004_cnn(padding: str = "valid", strided: bool = False, input_shape: tuple[int, ...] = (28, 28, 1)) -> Any:
    """Seed 004: like seed 003; its strided model has stride 2 in the first two convs only."""
    from keras import Input, Sequential, layers

    strides = [2, 2, 1] if strided else [1, 1, 1]
    convs = [layers.Conv2D(32, (3, 3), strides=s, padding=padding, activation="relu") for s in strides]
    return Sequential([
        Input(input_shape), *convs, layers.Flatten(),
        layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax"),
    ])


def seed001_slide12_unet(
    input_size: tuple[int, int, int] = (256, 256, 1), padding: str = "same", filters: int = 64
) -> Any:
    """Seed 001, slide 12: the small U-Net (``filters`` scales the widths 64/128/256).

    With ``padding='valid'`` the seed's model cannot be built: the skip connections no longer
    line up for concatenation (the U-Net paper crops them); Keras raises a ValueError.
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
    """Seed 001, slide 14: a 3-D CNN (use a small ``input_shape`` such as (16, 16, 16, 1) in tests)."""
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


#: name → builder of the seed configurations checked by the tests (small inputs where needed)
SEED_MODELS: dict[str, Callable[[], Any]] = {
    "001-slide4-valid": lambda: seed001_slide4_cnn("valid"),
    "001-slide4-same": lambda: seed001_slide4_cnn("same"),
    "003-valid": lambda: seed003_cnn("valid"),
    "003-same": lambda: seed003_cnn("same"),
    "003-strided": lambda: seed003_cnn("same", strides=2),
    "004-valid": lambda: seed004_cnn("valid"),
    "004-same": lambda: seed004_cnn("same"),
    "004-strided": lambda: seed004_cnn("same", strided=True),
    "001-slide12-unet-same": lambda: seed001_slide12_unet((32, 32, 1), "same", filters=8),
    "001-slide14-cnn3d-same": lambda: seed001_slide14_cnn3d("same", (12, 12, 12, 1)),
    "001-slide14-cnn3d-valid": lambda: seed001_slide14_cnn3d("valid", (22, 22, 22, 1)),
}
