"""MNIST / Fashion-MNIST from a local path: IDX files (gzipped or not) or a Keras-style ``.npz``.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "labels.idx1-ubyte")
>>> write_idx(path, np.arange(5, dtype=np.uint8))
>>> read_idx(path).tolist()
[0, 1, 2, 3, 4]
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .dataset import Dataset, border_distance
from .errors import StudyError

__all__ = ["load_mnist", "read_idx", "write_idx"]

_DTYPES: dict[int, npt.DTypeLike] = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
          np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}
_FILES = {"x_train": "train-images", "y_train": "train-labels", "x_test": "t10k-images", "y_test": "t10k-labels"}


def _open(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (``.gz`` or plain, detected from the bytes).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx3-ubyte.gz")
    >>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(1, 2, 3))
    >>> read_idx(path).tolist()
    [[[0, 1, 2], [3, 4, 5]]]
    """
    path = Path(path)
    data = _open(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise StudyError(f"{path}: not an IDX file (bad magic number)")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    dtype = np.dtype(_DTYPES[data[2]])
    body = data[4 + 4 * ndim:]
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(body) != expected:
        raise StudyError(f"{path}: IDX header says {dims} ({expected} bytes) but {len(body)} bytes follow")
    return np.frombuffer(body, dtype).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as IDX (gzipped when ``compress`` or the name ends in ``.gz``).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> write_idx(path, np.array([7, 2, 1], np.uint8))
    >>> open(path, "rb").read()[:4], read_idx(path).tolist()   # magic: unsigned bytes, one dimension
    (b'\\x00\\x00\\x08\\x01', [7, 2, 1])
    """
    path = Path(path)
    arr = np.asarray(array)
    if arr.dtype.itemsize > 1:
        arr = arr.astype(arr.dtype.newbyteorder(">"))
    code = _CODES[np.dtype(arr.dtype)]
    data = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()
    if compress or (compress is None and path.suffix == ".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)


def _find(folder: Path, stem: str) -> Path:
    hits = sorted(p for p in folder.iterdir() if p.name.startswith(stem) and "idx" in p.name)
    if not hits:
        raise StudyError(f"{folder}: no {stem}-idx*-ubyte[.gz] file")
    return hits[0]


def _arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise StudyError(f"data path {str(path)!r} does not exist")
    if path.is_dir():
        return {key: read_idx(_find(path, stem)) for key, stem in _FILES.items()}
    if path.suffix == ".npz":
        try:
            with np.load(path) as npz:
                missing = [k for k in _FILES if k not in npz]
                if missing:
                    raise StudyError(f"{path}: npz lacks {', '.join(missing)} "
                                     "(expected x_train, y_train, x_test, y_test)")
                return {k: npz[k] for k in _FILES}
        except (OSError, ValueError) as exc:
            if isinstance(exc, StudyError):
                raise
            raise StudyError(f"{path}: not a readable npz file ({exc})") from None
    raise StudyError(f"{path}: expected a folder of IDX files or an .npz file")


def load_mnist(path: str | Path, n_train: int | None = None, n_test: int | None = None,
               name: str = "mnist") -> Dataset:
    """MNIST-format data (28×28 grey images, 10 classes) from ``path``; the first ``n_*`` samples.

    ``path`` is a folder with ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
    ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]`` or an ``.npz`` with
    ``x_train, y_train, x_test, y_test`` (Keras' ``mnist.npz``). Nothing is downloaded.

    >>> load_mnist("/nonexistent")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    StudyError: data path '/nonexistent' does not exist
    """
    path = Path(path)
    arr = _arrays(path)
    for split in ("train", "test"):
        x, y = arr[f"x_{split}"], arr[f"y_{split}"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise StudyError(f"{path}: {split} images {x.shape} and labels {y.shape} do not match N×H×W and N")
    sl_tr, sl_te = slice(0, n_train), slice(0, n_test)

    def images(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32)
        return (x / 255.0 if x.max() > 1.5 else x)[:, None]

    x_tr, x_te = images(arr["x_train"][sl_tr]), images(arr["x_test"][sl_te])
    y_tr, y_te = arr["y_train"][sl_tr].astype(np.int64), arr["y_test"][sl_te].astype(np.int64)
    classes = tuple(str(i) for i in range(int(max(y_tr.max(), y_te.max())) + 1))
    info = {"name": name, "source": str(path), "n_train": len(x_tr), "n_test": len(x_te),
            "size": list(x_tr.shape[2:])}
    return Dataset(name, x_tr, y_tr, x_te, y_te, classes, info,
                   border_train=border_distance(x_tr), border_test=border_distance(x_te))
