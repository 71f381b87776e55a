"""scikit-learn's digits placed at random positions on a larger canvas (objects near the border).

>>> d = digits_on_canvas(n_train=20, n_test=10, seed=0)
>>> d.x_train.shape, int(d.border_test.min()) >= 0
((20, 1, 28, 28), True)
"""

from __future__ import annotations

import numpy as np

from .dataset import Dataset

__all__ = ["digits_on_canvas"]


def _sources(seed: int, test_fraction: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(images))
    n_test = round(len(images) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return images[train], labels[train], images[test], labels[test]


def _place(
    sources: np.ndarray, labels: np.ndarray, n: int, canvas: int, scale: int, min_border: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    size = sources.shape[1] * scale
    room = canvas - size
    if room < 2 * min_border:
        raise ValueError(f"a {size}px digit cannot keep {min_border}px from every border of a {canvas}px canvas")
    pick = np.resize(rng.permutation(len(sources)), n)
    glyphs = np.kron(sources[pick], np.ones((scale, scale), np.float32))
    top = rng.integers(min_border, room - min_border + 1, n)
    left = rng.integers(min_border, room - min_border + 1, n)
    x = np.zeros((n, 1, canvas, canvas), np.float32)
    rows = top[:, None] + np.arange(size)  # (n, size)
    cols = left[:, None] + np.arange(size)
    x[np.arange(n)[:, None, None], 0, rows[:, :, None], cols[:, None, :]] = glyphs
    border = np.minimum.reduce([top, left, room - top, room - left]).astype(np.int64)
    return x, labels[pick], border, np.stack([top, left], 1)


def digits_on_canvas(
    n_train: int = 4000,
    n_test: int = 1000,
    canvas: int = 28,
    scale: int = 2,
    seed: int = 0,
    train_min_border: int = 0,
    test_fraction: float = 0.25,
) -> Dataset:
    """Digits (8×8, upscaled ``scale``×) at uniform random positions on a ``canvas``² image.

    Train and test samples come from disjoint source digits. ``border`` is each sample's distance
    in pixels from its glyph box to the nearest canvas edge (0 = touching). ``train_min_border``
    keeps training digits away from the edges (a shift between train and test positions).

    >>> d = digits_on_canvas(500, 50, seed=1)
    >>> sorted(set(d.border_train.tolist()))
    [0, 1, 2, 3, 4, 5, 6]
    """
    rng = np.random.default_rng(seed)
    tr_src, tr_lab, te_src, te_lab = _sources(seed, test_fraction)
    x_tr, y_tr, b_tr, _ = _place(tr_src, tr_lab, n_train, canvas, scale, train_min_border, rng)
    x_te, y_te, b_te, _ = _place(te_src, te_lab, n_test, canvas, scale, 0, rng)
    info = {
        "name": "digits", "source": "scikit-learn load_digits (1797 8x8 images, bundled)",
        "canvas": canvas, "glyph": 8 * scale, "n_train": n_train, "n_test": n_test, "seed": seed,
        "train_min_border": train_min_border,
    }
    return Dataset("digits", x_tr, y_tr, x_te, y_te, tuple(str(i) for i in range(10)), info,
                   border_train=b_tr, border_test=b_te)
