"""Read an ``.onnx`` file without its weights: the graph's structure, initializers' sizes, small values.

A static analysis needs every initializer's shape but only the values of small ones (a ``Reshape``
target, ``Pad`` pads). :func:`read_onnx` maps the file and copies everything except the data of
large initializers, which it skips by their protobuf length prefix, so reading ResNet-50's 100 MB
touches a few hundred kB and memory follows the size of the graph, not of the weights. Files
whose structure alone exceeds :data:`MAX_STRUCTURE_BYTES`, truncated or corrupt files, and empty
files are refused with a :class:`~padstride.analysis.errors.ModelError`.

>>> import tempfile, numpy as np
>>> from onnx import TensorProto, helper, numpy_helper
>>> w = numpy_helper.from_array(np.zeros((64, 64, 7, 7), np.float32), "w")
>>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 32, 32])
>>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
>>> g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"])], "g", [x], [y], [w])
>>> path = tempfile.mkdtemp() + "/conv.onnx"; _ = open(path, "wb").write(helper.make_model(g).SerializeToString())
>>> model, skipped = read_onnx(path)
>>> list(model.graph.initializer[0].dims), skipped, len(model.graph.initializer[0].raw_data)
([64, 64, 7, 7], {'w'}, 0)
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import Any

__all__ = ["KEEP_DATA_BYTES", "MAX_STRUCTURE_BYTES", "read_onnx"]

#: An initializer whose data is larger than this keeps only its name, type and shape.
KEEP_DATA_BYTES = 1 << 16
#: The graph without large initializers' data (nodes, names, attributes, small tensors) must fit in this.
MAX_STRUCTURE_BYTES = 256 << 20

_GRAPH = 7  # ModelProto.graph
_INITIALIZER = 5  # GraphProto.initializer
_TENSOR_DATA = {4, 5, 6, 7, 9, 10, 11, 13}  # TensorProto: *_data, raw_data, external_data
_TENSOR_NAME, _TENSOR_LOCATION = 8, 14


class _Corrupt(Exception):
    pass


def _varint(buf: Any, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise _Corrupt
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: Any, start: int, end: int) -> Any:
    """``(field number, wire type, field start, value start, value end)`` for each field in ``buf[start:end]``."""
    pos = start
    while pos < end:
        key, at = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, stop = _varint(buf, at, end)
        elif wire == 1:
            stop = at + 8
        elif wire == 5:
            stop = at + 4
        elif wire == 2:
            length, at = _varint(buf, at, end)
            stop = at + length
        else:  # groups (3, 4) are not used by onnx.proto
            raise _Corrupt
        if stop > end or field == 0:
            raise _Corrupt
        yield field, wire, pos, at, stop
        pos = stop


def _length_prefixed(field: int, body: bytes) -> bytes:
    out = bytearray()
    for value in ((field << 3) | 2, len(body)):
        while value >= 0x80:
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out) + body


def _tensor(buf: Any, start: int, end: int, skipped: set[str]) -> bytes:
    """An initializer, without its data when that is large (or stored outside the file)."""
    parts: list[bytes] = []
    name, data, external = "", 0, False
    for field, wire, pos, at, stop in _fields(buf, start, end):
        if field in _TENSOR_DATA:
            data += stop - at
            external |= field == 13
            continue
        if field == _TENSOR_NAME and wire == 2:
            name = bytes(buf[at:stop]).decode("utf-8", "replace")
        if field == _TENSOR_LOCATION:
            external |= _varint(buf, at, stop)[0] == 1
            continue
        parts.append(bytes(buf[pos:stop]))
    if data <= KEEP_DATA_BYTES and not external:
        return bytes(buf[start:end])
    skipped.add(name)
    return b"".join(parts)


def _graph(buf: Any, start: int, end: int, skipped: set[str]) -> bytes:
    parts: list[bytes] = []
    for field, wire, pos, at, stop in _fields(buf, start, end):
        if field == _INITIALIZER and wire == 2:
            parts.append(_length_prefixed(field, _tensor(buf, at, stop, skipped)))
        else:
            parts.append(bytes(buf[pos:stop]))
    return b"".join(parts)


def _structure(buf: Any, size: int, skipped: set[str]) -> bytes:
    parts: list[bytes] = []
    for field, wire, pos, at, stop in _fields(buf, 0, size):
        if field == _GRAPH and wire == 2:
            parts.append(_length_prefixed(field, _graph(buf, at, stop, skipped)))
        else:
            parts.append(bytes(buf[pos:stop]))
    return b"".join(parts)


def read_onnx(path: str | Path) -> tuple[Any, set[str]]:
    """The ``ModelProto`` in ``path`` with large initializers' data left out, and their names."""
    import onnx

    from ..errors import ModelError

    path = Path(path)
    try:
        with path.open("rb") as f:
            size = path.stat().st_size
            if size == 0:
                raise ModelError(f"{path}: empty file, not an ONNX model")
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                skipped: set[str] = set()
                try:
                    body = _structure(buf, size, skipped)
                except _Corrupt:
                    raise ModelError(f"{path}: not an ONNX model (corrupt or truncated protobuf)") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or type(exc).__name__})") from None
    if len(body) > MAX_STRUCTURE_BYTES:
        raise ModelError(f"{path}: the graph without its weights takes {len(body):,} bytes, over the "
                         f"{MAX_STRUCTURE_BYTES:,}-byte limit for a model description")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(body)
    except Exception:
        raise ModelError(f"{path}: not an ONNX model (protobuf parse failed)") from None
    return model, skipped
