"""Seed 000's helpers: padstride's versions against the seed's own code, and the seed's claim
(manual SAME padding + a VALID conv == a SAME conv) against PyTorch, Keras and onnxruntime.

The reference functions below are the seed's formulas, copied as its semantics (the seed is the
"VALID vs SAME padding" section of the hands-on ML notebook for chapter 14).
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from padstride.geometry import (
    PaddingError,
    feature_map_size,
    manual_same_padding,
    pad_before_and_padded_size,
)

from ._oracle import oracle_settings, ort_run

os.environ.setdefault("KERAS_BACKEND", "torch")


# --- the seed's code (reference semantics) -------------------------------------------------

def seed_feature_map_size(input_size: int, kernel_size: int, strides: int = 1,
                          padding: str = "SAME") -> int:
    if padding == "SAME":
        return (input_size - 1) // strides + 1
    else:
        return (input_size - kernel_size) // strides + 1


def seed_pad_before_and_padded_size(input_size: int, kernel_size: int,
                                    strides: int = 1) -> tuple[int, int]:
    fmap_size = seed_feature_map_size(input_size, kernel_size, strides)
    padded_size = max((fmap_size - 1) * strides + kernel_size, input_size)
    pad_before = (padded_size - input_size) // 2
    return pad_before, padded_size


def seed_manual_same_padding(images: np.ndarray, kernel_size: int, strides: int = 1) -> np.ndarray:
    if kernel_size == 1:
        return images.astype(np.float32)
    batch_size, height, width, channels = images.shape
    top_pad, padded_height = seed_pad_before_and_padded_size(height, kernel_size, strides)
    left_pad, padded_width = seed_pad_before_and_padded_size(width, kernel_size, strides)
    padded_shape = [batch_size, padded_height, padded_width, channels]
    padded_images = np.zeros(padded_shape, dtype=np.float32)
    padded_images[:, top_pad:height + top_pad, left_pad:width + left_pad, :] = images
    return padded_images


# --- padstride == the seed -----------------------------------------------------------------

@oracle_settings(300)
@given(n=st.integers(1, 300), k=st.integers(1, 9), s=st.integers(1, 5),
       padding=st.sampled_from(["SAME", "VALID", "same", "valid", "FULL"]))
def test_feature_map_size_is_the_seeds(n: int, k: int, s: int, padding: str) -> None:
    """Same answers as the seed; where the seed returns a size < 1 (VALID, kernel longer than the
    input) padstride raises PaddingError instead (deliberate). Like the seed, only the exact
    string "SAME" means SAME."""
    expected = seed_feature_map_size(n, k, s, padding)
    if expected < 1:
        with pytest.raises(PaddingError, match="spans"):
            feature_map_size(n, k, s, padding)
        return
    assert feature_map_size(n, k, s, padding) == expected, dict(n=n, k=k, s=s, padding=padding)


@oracle_settings(300)
@given(n=st.integers(1, 300), k=st.integers(1, 9), s=st.integers(1, 5))
def test_pad_before_and_padded_size_is_the_seeds(n: int, k: int, s: int) -> None:
    assert pad_before_and_padded_size(n, k, s) == seed_pad_before_and_padded_size(n, k, s), (n, k, s)


@oracle_settings(100)
@given(h=st.integers(1, 12), w=st.integers(1, 12), k=st.integers(1, 7), s=st.integers(1, 3),
       c=st.integers(1, 2))
def test_manual_same_padding_is_the_seeds(h: int, w: int, k: int, s: int, c: int) -> None:
    images = np.random.default_rng(h * 13 + w).standard_normal((2, h, w, c))
    got = manual_same_padding(images, k, s)
    ref = seed_manual_same_padding(images, k, s)
    assert got.dtype == ref.dtype == np.float32
    np.testing.assert_array_equal(got, ref, err_msg=str(dict(h=h, w=w, k=k, s=s)))


# --- the seed's claim, checked by the frameworks -------------------------------------------

@functools.lru_cache(maxsize=64)
def _keras_same_conv(k: int, s: int) -> Any:
    """One Keras Conv2D 'same' per (kernel, stride), reused for every input size."""
    keras = pytest.importorskip("keras")
    layer = keras.layers.Conv2D(1, k, s, padding="same", use_bias=False)
    layer.build((None, None, None, 1))
    return layer


@oracle_settings(80)
@given(h=st.integers(1, 14), w=st.integers(1, 14), k=st.integers(1, 7), s=st.integers(1, 3))
def test_manual_same_padding_then_valid_conv_is_same_conv(h: int, w: int, k: int, s: int,
                                                          oracle_count: Counter[str]) -> None:
    """VALID PyTorch conv of manual_same_padding(images) == Keras Conv2D 'same' == onnxruntime
    Conv SAME_UPPER, with the same weights."""
    torch = pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(h + 17 * w + 101 * k + 1009 * s)
    images = rng.standard_normal((1, h, w, 1)).astype(np.float32)
    kernel = rng.standard_normal((k, k)).astype(np.float32)
    padded = manual_same_padding(images, k, s)
    valid = torch.nn.functional.conv2d(
        torch.from_numpy(np.ascontiguousarray(padded[..., 0]))[:, None],
        torch.from_numpy(kernel)[None, None], stride=s)[0, 0].numpy()
    layer = _keras_same_conv(k, s)
    layer.set_weights([kernel.reshape(k, k, 1, 1)])
    same_keras = np.asarray(keras.ops.convert_to_numpy(layer(images)))[0, ..., 0]
    same_ort = ort_run("Conv", images[..., 0][:, None], kernel[None, None], kernel_shape=[k, k],
                       strides=[s, s], auto_pad="SAME_UPPER")[0, 0]
    oracle_count["torch"] += 1
    oracle_count["keras"] += 1
    oracle_count["onnxruntime"] += 1
    cfg = dict(h=h, w=w, k=k, s=s)
    assert valid.shape == (feature_map_size(h, k, s), feature_map_size(w, k, s)), cfg
    np.testing.assert_allclose(valid, same_keras, atol=1e-4, err_msg=str(cfg))
    np.testing.assert_allclose(valid, same_ort, atol=1e-4, err_msg=str(cfg))
