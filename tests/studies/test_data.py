"""Offline data: digits on a canvas, generated shapes and volumes, the MNIST loader on generated files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from padstride.studies import StudyError
from padstride.studies.dataset import border_distance
from padstride.studies.digits import digits_on_canvas
from padstride.studies.idx import load_mnist, read_idx, write_idx
from padstride.studies.shapes import shapes


def test_digits_deterministic_and_near_the_border():
    a, b = digits_on_canvas(300, 200, seed=3), digits_on_canvas(300, 200, seed=3)
    c = digits_on_canvas(300, 200, seed=4)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.border_test, b.border_test)
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.x_train.shape == (300, 1, 28, 28) and a.x_train.dtype == np.float32
    assert a.x_train.min() >= 0 and a.x_train.max() <= 1
    # the recorded distance is the glyph box's: no ink is closer to the border than that
    assert (border_distance(a.x_test) >= a.border_test).all()
    assert (a.border_test == 0).mean() > 0.1, "some digits must touch the border"
    assert set(a.y_train.tolist()) == set(range(10))


def test_digits_train_min_border_keeps_training_digits_inside():
    d = digits_on_canvas(200, 200, seed=0, train_min_border=4)
    assert d.border_train.min() >= 4 and d.border_test.min() == 0
    with pytest.raises(ValueError, match="cannot keep"):
        digits_on_canvas(10, 10, train_min_border=7)


@pytest.mark.parametrize("ndim,size", [(2, 32), (3, 16)])
def test_shapes_masks_match_images(ndim, size):
    d = shapes(40, 10, size=size, ndim=ndim, objects=2, noise=0.0, seed=5)
    again = shapes(40, 10, size=size, ndim=ndim, objects=2, noise=0.0, seed=5)
    np.testing.assert_array_equal(d.x_train, again.x_train)
    assert d.x_train.shape == (40, 1) + (size,) * ndim and d.mask_train.shape == (40,) + (size,) * ndim
    np.testing.assert_array_equal(d.x_train[:, 0] > 0, d.mask_train.astype(bool))  # noise 0: ink == mask
    assert (d.border_train == 0).any() and (d.border_train > 0).any()
    np.testing.assert_array_equal(border_distance(d.x_train, 0.0), d.border_train)


def _mnist_arrays(rng):
    return {
        "x_train": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 12).astype(np.uint8),
        "x_test": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 5).astype(np.uint8),
    }


NAMES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
         "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_folder(tmp_path, gz):
    arr = _mnist_arrays(np.random.default_rng(0))
    for key, name in NAMES.items():
        write_idx(tmp_path / (name + (".gz" if gz else "")), arr[key])
    if gz:
        assert (tmp_path / "train-images-idx3-ubyte.gz").read_bytes()[:2] == b"\x1f\x8b"
    d = load_mnist(tmp_path)
    np.testing.assert_allclose(d.x_train[:, 0], arr["x_train"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y_test, arr["y_test"])
    assert d.x_test.shape == (5, 1, 28, 28) and d.border_test.shape == (5,)
    assert load_mnist(tmp_path, n_train=3).x_train.shape[0] == 3


def test_idx_header_parsed_by_hand(tmp_path):
    # an IDX file written byte by byte (not by write_idx): magic 0x00000803, dims 2×2×3
    body = bytes(range(12))
    raw = b"\x00\x00\x08\x03" + (2).to_bytes(4, "big") + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + body
    (tmp_path / "a.idx3-ubyte").write_bytes(raw)
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    for name in ("a.idx3-ubyte", "a.gz"):
        np.testing.assert_array_equal(read_idx(tmp_path / name), np.arange(12, dtype=np.uint8).reshape(2, 2, 3))


def test_mnist_npz(tmp_path):
    arr = _mnist_arrays(np.random.default_rng(1))
    np.savez(tmp_path / "fashion.npz", **arr)
    d = load_mnist(tmp_path / "fashion.npz", name="fashion_mnist")
    np.testing.assert_array_equal(d.y_train, arr["y_train"])
    assert d.name == "fashion_mnist"


@pytest.mark.parametrize("case,message", [
    ("missing", "does not exist"), ("empty_dir", "no train-images"), ("bad_magic", "bad magic"),
    ("truncated", "IDX header says"), ("npz_keys", "npz lacks"), ("txt", "expected a folder"),
])
def test_mnist_bad_paths(tmp_path, case, message):
    path = tmp_path / "data"
    if case == "empty_dir":
        path.mkdir()
    elif case in ("bad_magic", "truncated"):
        path.mkdir()
        arr = _mnist_arrays(np.random.default_rng(2))
        for key, name in NAMES.items():
            write_idx(path / name, arr[key])
        target = path / NAMES["x_train"]
        raw = target.read_bytes()
        target.write_bytes(b"PK\x03\x04" + raw[4:] if case == "bad_magic" else raw[:-10])
    elif case == "npz_keys":
        path = tmp_path / "d.npz"
        np.savez(path, x_train=np.zeros((1, 28, 28)))
    elif case == "txt":
        path = tmp_path / "d.txt"
        path.write_text("hello")
    with pytest.raises(StudyError, match=message):
        load_mnist(path)
