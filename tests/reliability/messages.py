"""Hypothesis strategies for arbitrary protobuf requests, built from their descriptors.

Every field may be absent or set to any value its wire type allows: unicode and
oversized strings, arbitrary bytes (so wrong-length numeric arrays), any 32/64-bit
integer (so unknown enum values and huge k), NaN and infinite floats, nested
messages two levels deep. `overrides` gives a top-level field a strategy of its own
and always sets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

TEXT = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300),
    st.sampled_from(["", " ", "196", "\x00", "x" * 5000, "é" * 129, "🙂" * 64]),
)

_INTS: Mapping[int, st.SearchStrategy[Any]] = {
    FieldDescriptor.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: st.integers(0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: st.integers(0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: st.integers(0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: st.integers(0, 2**64 - 1),
}


def _scalar(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind in _INTS:
        small = st.integers(0 if kind in _UNSIGNED else -3, 1100)
        return st.one_of(small, _INTS[kind])
    if kind == FieldDescriptor.TYPE_STRING:
        return TEXT
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=512)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_FLOAT:
        return st.floats(width=32)
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return st.floats()
    if kind == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        known = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-(2**31), 2**31 - 1))
    if kind == FieldDescriptor.TYPE_MESSAGE:
        assert field.message_type is not None
        return messages(field.message_type, depth + 1)
    raise AssertionError(f"unhandled field type {kind} of {field.full_name}")


_UNSIGNED = {
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_FIXED64,
}


def _is_map(field: FieldDescriptor) -> bool:
    entry = field.message_type
    return entry is not None and bool(entry.GetOptions().map_entry)


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if _is_map(field):
        assert field.message_type is not None
        entry = field.message_type.fields_by_name
        key, value = entry["key"], entry["value"]
        return st.dictionaries(_scalar(key, depth), _scalar(value, depth), max_size=40)
    if field.is_repeated:
        return st.lists(_scalar(field, depth), max_size=4)
    return _scalar(field, depth)


def _build(descriptor: Descriptor, values: dict[str, Any]) -> Message:
    message = GetMessageClass(descriptor)()
    for name, value in values.items():
        field = descriptor.fields_by_name[name]
        target = getattr(message, name) if field.is_repeated else None
        if _is_map(field):
            target.update(value)  # type: ignore[union-attr]
        elif target is not None and field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in value:
                target.add().CopyFrom(item)
        elif target is not None:
            target.extend(value)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            getattr(message, name).CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def messages(
    descriptor: Descriptor,
    depth: int = 0,
    overrides: Mapping[str, st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[Message]:
    """Arbitrary messages of this type (fields deeper than two levels stay empty)."""
    if depth > 2:
        return st.just(GetMessageClass(descriptor)())
    overrides = overrides or {}
    required = dict(overrides)
    optional = {f.name: _value(f, depth) for f in descriptor.fields if f.name not in required}
    return st.fixed_dictionaries(required, optional=optional).map(lambda v: _build(descriptor, v))
