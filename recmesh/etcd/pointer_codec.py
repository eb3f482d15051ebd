"""Reads and writes the serving pointer value (ServingPointer as proto JSON)."""

from __future__ import annotations

from google.protobuf import json_format

from recmesh.api.controlplane.v1 import records_pb2


class PointerFormatError(ValueError):
    """The pointer key holds something that is not a ServingPointer."""


def encode_pointer(pointer: records_pb2.ServingPointer) -> bytes:
    stored = records_pb2.ServingPointer()
    stored.CopyFrom(pointer)
    stored.ClearField("revision")
    return json_format.MessageToJson(stored, sort_keys=True, indent=None).encode()


def decode_pointer(value: bytes, mod_revision: int) -> records_pb2.ServingPointer:
    """Parses the stored JSON and fills in the key's mod_revision."""
    pointer = records_pb2.ServingPointer()
    try:
        json_format.Parse(value, pointer)
    except json_format.ParseError as exc:
        raise PointerFormatError(f"serving pointer is not ServingPointer JSON: {exc}") from exc
    if not pointer.serving_version or not pointer.manifest_sha256:
        raise PointerFormatError("serving pointer lacks serving_version or manifest_sha256")
    pointer.revision = mod_revision
    return pointer
