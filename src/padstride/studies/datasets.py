"""Load a study's data from its ``data`` settings (cached per process: every variant shares it).

>>> d = load_data({"name": "digits", "n_train": 30, "n_test": 10, "size": 28, "seed": 0})
>>> d.name, d.x_test.shape
('digits', (10, 1, 28, 28))
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache

from .dataset import Dataset
from .errors import StudyError

__all__ = ["load_data"]


@lru_cache(maxsize=4)
def _load(key: str) -> Dataset:
    cfg = json.loads(key)
    name = cfg.get("name", "digits")
    n_train, n_test, seed = cfg.get("n_train", 4000), cfg.get("n_test", 1000), cfg.get("seed", 0)
    if name == "digits":
        from .digits import digits_on_canvas

        try:
            return digits_on_canvas(n_train, n_test, canvas=cfg.get("size", 28), scale=cfg.get("scale", 2),
                                    seed=seed, train_min_border=cfg.get("train_min_border", 0))
        except ValueError as exc:
            raise StudyError(f"data: {exc}") from None
    if name in ("shapes", "volumes"):
        from .shapes import shapes

        return shapes(n_train, n_test, size=cfg.get("size", 32), ndim=2 if name == "shapes" else 3,
                      objects=cfg.get("objects", 1), noise=cfg.get("noise", 0.1), seed=seed)
    if name in ("mnist", "fashion_mnist"):
        from .idx import load_mnist

        return load_mnist(cfg["path"], n_train, n_test, name=name)
    raise StudyError(f"unknown data {name!r}")


def load_data(cfg: Mapping[str, object]) -> Dataset:
    """The :class:`Dataset` a ``data`` mapping describes (digits, shapes, volumes, mnist, fashion_mnist).

    >>> load_data({"name": "volumes", "n_train": 2, "n_test": 2, "size": 12}).x_train.shape
    (2, 1, 12, 12, 12)
    """
    return _load(json.dumps(cfg, sort_keys=True))
