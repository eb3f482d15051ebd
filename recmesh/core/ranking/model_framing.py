"""Checks that model bytes are one whole JSON or UBJSON document before XGBoost reads them.

XGBoost 3.2's parser reads past the end of a truncated UBJSON buffer and can
crash the process instead of raising, so a model is walked here first: every
length and count must fit inside the bytes, every container must close, and
nothing may follow the document. The walk checks framing only; XGBoost still
judges the content.
"""

from __future__ import annotations

import json
import struct

_MAX_DEPTH = 64
_WHITESPACE = b" \t\r\n"
_FIXED_SIZES = {
    b"Z": 0,
    b"N": 0,
    b"T": 0,
    b"F": 0,
    b"i": 1,
    b"U": 1,
    b"C": 1,
    b"I": 2,
    b"l": 4,
    b"d": 4,
    b"L": 8,
    b"D": 8,
}
_INT_FORMATS = {b"i": ">b", b"U": ">B", b"I": ">h", b"l": ">i", b"L": ">q"}


class ModelFramingError(ValueError):
    """The bytes are not one whole model document; the message says where."""


def check_model_framing(data: bytes) -> None:
    """Raises ModelFramingError unless data is one complete JSON or UBJSON document."""
    start = _skip_whitespace(data, 0)
    if start == len(data):
        raise ModelFramingError("the model file is empty")
    if data[start : start + 1] != b"{":
        raise ModelFramingError("the model file starts with neither a JSON nor a UBJSON object")
    if _looks_like_json(data, start + 1):
        _check_json(data)
        return
    end = _skip_whitespace(data, _UbjsonWalk(data).value(start, depth=0))
    if end != len(data):
        raise ModelFramingError(f"{len(data) - end} bytes follow the end of the model document")


def _skip_whitespace(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos : pos + 1] in _WHITESPACE:
        pos += 1
    return pos


def _looks_like_json(data: bytes, after_brace: int) -> bool:
    """JSON objects go on with a quoted key or close; UBJSON keys start with a length marker."""
    pos = _skip_whitespace(data, after_brace)
    return data[pos : pos + 1] in (b'"', b"}")


def _check_json(data: bytes) -> None:
    try:
        json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFramingError(f"the JSON model is not whole: {exc}") from exc


class _UbjsonWalk:
    """Walks one UBJSON value, returning the position just past it."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def value(self, pos: int, depth: int) -> int:
        marker = self._take(pos, 1, "a value marker")
        return self._typed(marker, pos + 1, depth)

    def _typed(self, marker: bytes, pos: int, depth: int) -> int:
        if marker in _FIXED_SIZES:
            size = _FIXED_SIZES[marker]
            self._take(pos, size, f"a {marker.decode()} value")
            return pos + size
        if marker in (b"S", b"H"):
            length, pos = self._length(pos)
            self._take(pos, length, "a string")
            return pos + length
        if marker in (b"[", b"{"):
            if depth >= _MAX_DEPTH:
                raise ModelFramingError(f"containers nest deeper than {_MAX_DEPTH} levels")
            return self._container(pos, is_object=marker == b"{", depth=depth + 1)
        raise ModelFramingError(f"unknown UBJSON marker {marker!r} at byte {pos - 1}")

    def _container(self, pos: int, is_object: bool, depth: int) -> int:
        element_type: bytes | None = None
        if self._peek(pos) == b"$":
            element_type = self._take(pos + 1, 1, "a container element type")
            pos += 2
            if self._peek(pos) != b"#":
                raise ModelFramingError(f"a typed container lacks its count at byte {pos}")
        count: int | None = None
        if self._peek(pos) == b"#":
            count, pos = self._length(pos + 1)
        if count is None:
            close = b"}" if is_object else b"]"
            while self._peek(pos) != close:
                pos = self._element(pos, is_object, None, depth)
            return pos + 1
        if element_type is not None and element_type in _FIXED_SIZES and not is_object:
            size = _FIXED_SIZES[element_type] * count
            self._take(pos, size, "a typed array")
            return pos + size
        for _ in range(count):
            pos = self._element(pos, is_object, element_type, depth)
        return pos

    def _element(self, pos: int, is_object: bool, element_type: bytes | None, depth: int) -> int:
        if is_object:
            key_length, pos = self._length(pos)
            self._take(pos, key_length, "an object key")
            pos += key_length
        if element_type is not None:
            return self._typed(element_type, pos, depth)
        return self.value(pos, depth)

    def _length(self, pos: int) -> tuple[int, int]:
        marker = self._take(pos, 1, "a length marker")
        fmt = _INT_FORMATS.get(marker)
        if fmt is None:
            raise ModelFramingError(f"a length has marker {marker!r} at byte {pos}")
        size = struct.calcsize(fmt)
        (length,) = struct.unpack(fmt, self._take(pos + 1, size, "a length"))
        if length < 0:
            raise ModelFramingError(f"a negative length at byte {pos}")
        return int(length), pos + 1 + size

    def _peek(self, pos: int) -> bytes:
        return self._take(pos, 1, "more of a container")

    def _take(self, pos: int, size: int, what: str) -> bytes:
        if pos + size > len(self._data):
            raise ModelFramingError(
                f"the model file ends at byte {len(self._data)}, inside {what} at byte {pos}"
            )
        return self._data[pos : pos + size]
