"""The seed models in Keras 3, as the seeds write them (``padstride summary examples/keras_models.py:NAME``).

Set ``KERAS_BACKEND=torch`` (TensorFlow is not a dependency).

>>> from padstride.analysis import analyze
>>> analyze(seed003_strided()).total_params
85770
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
from keras import layers, models

__all__ = [
    "cnn3d_same", "cnn3d_valid", "create_3d_cnn", "create_cnn_model", "mnist_cnn_same", "mnist_cnn_valid",
    "seed003_same", "seed003_strided", "seed003_valid", "seed004_strided", "unet", "unet_same",
]


def _seed003(padding: str, strides: tuple[int, int, int]) -> keras.Sequential:
    model = models.Sequential([keras.Input((28, 28, 1))])
    for s in strides:
        model.add(layers.Conv2D(32, kernel_size=(3, 3), strides=(s, s), padding=padding, activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(128, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def seed003_valid() -> keras.Sequential:
    """Seed 003 ``valid``: 2,002,698 params."""
    return _seed003("valid", (1, 1, 1))


def seed003_same() -> keras.Sequential:
    """Seed 003 ``same``: 3,231,498 params."""
    return _seed003("same", (1, 1, 1))


def seed003_strided() -> keras.Sequential:
    """Seed 003 strides (2, 2) three times: 85,770 params."""
    return _seed003("same", (2, 2, 2))


def seed004_strided() -> keras.Sequential:
    """Seed 004: strides 2, 2, 1: 220,938 params."""
    return _seed003("same", (2, 2, 1))


def create_cnn_model(input_shape: tuple[int, int, int], padding_type: str) -> keras.Sequential:
    """Seed 001 slides 4, 8, 9 (``input_shape`` passed to ``keras.Input``, as Keras 3 wants)."""
    return models.Sequential([
        keras.Input(input_shape),
        layers.Conv2D(32, (3, 3), activation="relu", padding=padding_type),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu", padding=padding_type),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu", padding=padding_type),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def mnist_cnn_valid() -> keras.Sequential:
    """Slide 9 at 28×28, ``valid`` (use ``--input 32,32,1`` or ``64,64,1`` for the other sizes)."""
    return create_cnn_model((28, 28, 1), "valid")


def mnist_cnn_same() -> keras.Sequential:
    """Slide 9 at 28×28, ``same``."""
    return create_cnn_model((28, 28, 1), "same")


def _conv_block(inputs: object, filters: int, padding: str = "same") -> object:
    x = layers.Conv2D(filters, 3, padding=padding, activation="relu")(inputs)
    return layers.Conv2D(filters, 3, padding=padding, activation="relu")(x)


def unet(input_size: tuple[int, int, int] = (256, 256, 1), padding: str = "same") -> keras.Model:
    """Seed 001 slide 12. With ``padding='valid'`` Keras refuses to build it (114×114 vs 122×122)."""
    inputs = layers.Input(input_size)
    conv1 = _conv_block(inputs, 64, padding)
    pool1 = layers.MaxPooling2D(pool_size=(2, 2))(conv1)
    conv2 = _conv_block(pool1, 128, padding)
    pool2 = layers.MaxPooling2D(pool_size=(2, 2))(conv2)
    conv3 = _conv_block(pool2, 256, padding)
    up4 = layers.UpSampling2D(size=(2, 2))(conv3)
    up4 = layers.concatenate([up4, conv2])
    conv4 = _conv_block(up4, 128, padding)
    up5 = layers.UpSampling2D(size=(2, 2))(conv4)
    up5 = layers.concatenate([up5, conv1])
    conv5 = _conv_block(up5, 64, padding)
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(conv5)
    return models.Model(inputs=inputs, outputs=outputs)


def unet_same() -> keras.Model:
    """Slide 12 with ``same`` padding."""
    return unet(padding="same")


def create_3d_cnn(input_shape: tuple[int, int, int, int], padding: str = "same") -> keras.Sequential:
    """Seed 001 slide 14."""
    return models.Sequential([
        keras.Input(input_shape),
        layers.Conv3D(32, (3, 3, 3), activation="relu", padding=padding),
        layers.MaxPooling3D((2, 2, 2)),
        layers.Conv3D(64, (3, 3, 3), activation="relu", padding=padding),
        layers.MaxPooling3D((2, 2, 2)),
        layers.Conv3D(64, (3, 3, 3), activation="relu", padding=padding),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])


def cnn3d_same() -> keras.Sequential:
    """Slide 14, ``same``, 64³."""
    return create_3d_cnn((64, 64, 64, 1), "same")


def cnn3d_valid() -> keras.Sequential:
    """Slide 14, ``valid``, 64³."""
    return create_3d_cnn((64, 64, 64, 1), "valid")
