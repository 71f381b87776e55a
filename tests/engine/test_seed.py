"""Seed 001's add_padding and convolution2d against the seed's own code (slides 1 and 2)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from padstride.engine import add_padding, conv, convolution2d
from padstride.geometry import PaddingError

from ._oracle import check, fixed


def seed_add_padding(image, pad_width):  # type: ignore[no-untyped-def]
    return np.pad(image, pad_width, mode="constant", constant_values=0)


def seed_convolution2d(image, kernel, padding="valid"):  # type: ignore[no-untyped-def]  # verbatim, slide 2
    if padding == "same":
        pad_height = (kernel.shape[0] - 1) // 2
        pad_width = (kernel.shape[1] - 1) // 2
        padded_image = np.pad(image, ((pad_height, pad_height), (pad_width, pad_width)), mode="constant")
    else:
        padded_image = image

    output_height = padded_image.shape[0] - kernel.shape[0] + 1
    output_width = padded_image.shape[1] - kernel.shape[1] + 1
    output = np.zeros((output_height, output_width))

    for i in range(output_height):
        for j in range(output_width):
            output[i, j] = np.sum(padded_image[i:i + kernel.shape[0], j:j + kernel.shape[1]] * kernel)

    return output


@fixed(80)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 5), st.integers(1, 5),
       st.sampled_from(["valid", "same"]), st.booleans())
def test_convolution2d_is_the_seed_loop(h: int, w: int, kh: int, kw: int, padding: str, ints: bool) -> None:
    rng = np.random.default_rng(h * 13 + w)
    image = rng.integers(0, 255, size=(h, w)) if ints else rng.standard_normal((h, w))
    kernel = rng.random((kh, kw))
    pads = (kh - 1) // 2 * 2 if padding == "same" else 0
    if h + pads < kh or w + ((kw - 1) // 2 * 2 if padding == "same" else 0) < kw:
        with pytest.raises(PaddingError):
            convolution2d(image, kernel, padding)
        return
    want = seed_convolution2d(image, kernel, padding)
    got = convolution2d(image, kernel, padding)
    assert got.dtype == want.dtype == np.float64
    check(got, want, (h, w, kh, kw, padding, ints))


def test_seed_same_is_not_same_for_even_kernels() -> None:
    image, kernel = np.ones((6, 6)), np.ones((4, 4))
    assert convolution2d(image, kernel, "same").shape == (5, 5)  # the seed's rule
    assert conv(image[None, None], kernel[None, None], padding="same").shape[2:] == (6, 6)  # TF's rule


@pytest.mark.parametrize("pad_width", [1, (1, 2), ((0, 1), (2, 3)), ((1, 1),)])
def test_add_padding_is_np_pad(pad_width: object) -> None:
    image = np.random.default_rng(0).integers(0, 255, size=(5, 5))
    want = seed_add_padding(image, pad_width)
    got = add_padding(image, pad_width)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_seed_rejects_unknown_padding() -> None:
    with pytest.raises(PaddingError, match="'valid' or 'same'"):
        convolution2d(np.ones((4, 4)), np.ones((3, 3)), "full")
