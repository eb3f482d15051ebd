"""Numeric payloads on the wire: little-endian bytes plus their shape.

Decoding checks that the byte length matches the declared shape and returns
read-only numpy views (no copy, no per-item Python loop).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recmesh.api.common.v1 import arrays_pb2

_I64 = np.dtype("<i8")
_F32 = np.dtype("<f4")


class ArrayPayloadError(ValueError):
    """A payload whose bytes do not match its declared shape or limits."""


def encode_int64(values: NDArray[np.int64]) -> arrays_pb2.Int64Array:
    data = np.ascontiguousarray(values, dtype=_I64)
    return arrays_pb2.Int64Array(data=data.tobytes(), length=int(data.shape[0]))


def encode_float32(values: NDArray[np.float32]) -> arrays_pb2.Float32Array:
    data = np.ascontiguousarray(values, dtype=_F32)
    return arrays_pb2.Float32Array(data=data.tobytes(), length=int(data.shape[0]))


def encode_matrix(matrix: NDArray[np.float32]) -> arrays_pb2.Float32Matrix:
    data = np.ascontiguousarray(matrix, dtype=_F32)
    rows, cols = data.shape
    return arrays_pb2.Float32Matrix(data=data.tobytes(), rows=rows, cols=cols)


def decode_int64(payload: arrays_pb2.Int64Array, what: str) -> NDArray[np.int64]:
    if len(payload.data) != payload.length * 8:
        raise ArrayPayloadError(
            f"{what}: {len(payload.data)} bytes do not hold {payload.length} int64 values"
        )
    return np.frombuffer(payload.data, dtype=_I64)


def decode_float32(payload: arrays_pb2.Float32Array, what: str) -> NDArray[np.float32]:
    if len(payload.data) != payload.length * 4:
        raise ArrayPayloadError(
            f"{what}: {len(payload.data)} bytes do not hold {payload.length} float32 values"
        )
    return np.frombuffer(payload.data, dtype=_F32)


def decode_matrix(payload: arrays_pb2.Float32Matrix, what: str) -> NDArray[np.float32]:
    if len(payload.data) != payload.rows * payload.cols * 4:
        raise ArrayPayloadError(
            f"{what}: {len(payload.data)} bytes do not hold a "
            f"{payload.rows} x {payload.cols} float32 matrix"
        )
    return np.frombuffer(payload.data, dtype=_F32).reshape(payload.rows, payload.cols)
