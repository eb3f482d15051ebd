"""Signed pointer records: what the signature covers, and every way a record fails."""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import FieldDescriptor

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.signing.canonical import canonical_pointer_bytes
from recmesh.signing.keys import PublicKeyRing
from recmesh.signing.verify import (
    BAD_SIGNATURE,
    UNKNOWN_KEY,
    UNSIGNED,
    UntrustedPointerError,
    verify_pointer,
)
from tests.pointer_signing import PointerKey


def _record(key: PointerKey) -> records_pb2.ServingPointer:
    pointer = records_pb2.ServingPointer(
        serving_version="sv-0123456789abcdef",
        manifest_sha256="ab" * 32,
        experiment_id="exp-1",
        set_by="olga",
        reason="promoted experiment exp-1",
        sequence=7,
        audit_entry_hash="cd" * 32,
        evaluation_sha256="ef" * 32,
        replaces_revision=41,
    )
    pointer.set_at.FromJsonString("2026-01-02T03:04:05Z")
    return key.signer.sign(pointer)


def _rollout(mode: int) -> records_pb2.Rollout:
    return records_pb2.Rollout(
        rollout_id="r1",
        experiment_id="e1",
        challenger_version="v2",
        challenger_manifest_sha256="ab" * 32,
        mode=mode,  # type: ignore[arg-type]
        share=0.05,
        stage=0,
        latency_threshold_ms=40.0,
    )


def test_canonical_bytes_are_the_documented_form() -> None:
    """A domain line, then every signed field in a sorted JSON object without whitespace;
    the revision (filled in when read) and the signature are not part of it."""
    pointer = _record(PointerKey.generate())
    pointer.revision = 99
    assert canonical_pointer_bytes(pointer) == (
        b"recmesh serving pointer record v1\n"
        b'{"audit_entry_hash":"' + b"cd" * 32 + b'","evaluation_sha256":"' + b"ef" * 32
        + b'","experiment_id":"exp-1","manifest_sha256":"' + b"ab" * 32
        + b'","reason":"promoted experiment exp-1","replaces_revision":41,"sequence":7,'
        b'"serving_version":"sv-0123456789abcdef","set_at":"2026-01-02T03:04:05Z",'
        b'"set_by":"olga"}'
    )  # fmt: skip


def test_a_signed_record_verifies_with_its_key() -> None:
    """The signer's key verifies the record and names itself."""
    key = PointerKey.generate()
    assert verify_pointer(_record(key), key.ring) == key.signer.key_id


#: Fields that are not part of what is signed: the revision is filled in when read, the
#: signature is what signs the rest.
UNSIGNED_FIELDS = frozenset({"revision", "signature"})


def _change(pointer: records_pb2.ServingPointer, field: FieldDescriptor) -> None:
    """Sets field to a value other than the one it holds; a field of a kind this does not
    know fails the test (teach it the kind, and sign the field)."""
    name = field.name
    if field.message_type is not None and field.message_type.full_name.endswith(".Rollout"):
        getattr(pointer, name).share += 0.25
    elif field.message_type is not None:
        assert field.message_type.full_name == "google.protobuf.Timestamp", name
        getattr(pointer, name).seconds += 1
    elif field.cpp_type == FieldDescriptor.CPPTYPE_STRING:
        setattr(pointer, name, getattr(pointer, name) + "x")
    elif field.cpp_type in _INTEGERS:
        setattr(pointer, name, getattr(pointer, name) + 1)
    else:
        raise AssertionError(f"{name}: teach this test to change a field of type {field.type}")


_INTEGERS = frozenset(
    {
        FieldDescriptor.CPPTYPE_INT32,
        FieldDescriptor.CPPTYPE_INT64,
        FieldDescriptor.CPPTYPE_UINT32,
        FieldDescriptor.CPPTYPE_UINT64,
    }
)


@pytest.mark.parametrize(
    "field",
    [f for f in records_pb2.ServingPointer.DESCRIPTOR.fields if f.name not in UNSIGNED_FIELDS],
    ids=lambda f: f.name,
)
def test_changing_any_signed_field_breaks_the_signature(field: FieldDescriptor) -> None:
    """Every field of ServingPointer but the revision and the signature is covered: editing
    it after signing is bad_signature (a new proto field left out of the signed bytes
    fails here)."""
    key = PointerKey.generate()
    pointer = _record(key)
    _change(pointer, field)
    with pytest.raises(UntrustedPointerError) as caught:
        verify_pointer(pointer, key.ring)
    assert caught.value.reason == BAD_SIGNATURE


@pytest.mark.parametrize(
    "field", list(records_pb2.Rollout.DESCRIPTOR.fields), ids=lambda f: f"rollout.{f.name}"
)
def test_changing_any_field_of_the_rollout_breaks_the_signature(field: FieldDescriptor) -> None:
    """The challenger a record names beside the champion is signed field by field: a
    record whose rollout was edited after signing (another challenger, a larger share, a
    later stage) is bad_signature."""
    key = PointerKey.generate()
    pointer = _record(key)
    pointer.rollout.CopyFrom(_rollout(records_pb2.ROLLOUT_MODE_STAGED))
    signed = key.signer.sign(pointer)
    verify_pointer(signed, key.ring)
    name = field.name
    if field.enum_type is not None:
        setattr(signed.rollout, name, records_pb2.ROLLOUT_MODE_SHADOW)
    elif field.cpp_type == FieldDescriptor.CPPTYPE_STRING:
        setattr(signed.rollout, name, getattr(signed.rollout, name) + "x")
    elif field.cpp_type == FieldDescriptor.CPPTYPE_DOUBLE:
        setattr(signed.rollout, name, getattr(signed.rollout, name) + 0.5)
    else:
        setattr(signed.rollout, name, getattr(signed.rollout, name) + 1)
    with pytest.raises(UntrustedPointerError) as caught:
        verify_pointer(signed, key.ring)
    assert caught.value.reason == BAD_SIGNATURE


def test_an_unsigned_record_is_refused() -> None:
    """A record without a signature (what a raw etcd write holds) is unsigned."""
    key = PointerKey.generate()
    pointer = _record(key)
    pointer.ClearField("signature")
    with pytest.raises(UntrustedPointerError) as caught:
        verify_pointer(pointer, key.ring)
    assert caught.value.reason == UNSIGNED


def test_a_record_signed_by_another_key_is_refused() -> None:
    """Signed by a key the ring does not hold: unknown_key; the same key id with another
    key's signature bytes: bad_signature."""
    trusted, other = PointerKey.generate(), PointerKey.generate()
    with pytest.raises(UntrustedPointerError) as caught:
        verify_pointer(_record(other), trusted.ring)
    assert caught.value.reason == UNKNOWN_KEY
    forged = _record(other)
    forged.signature.key_id = trusted.signer.key_id
    with pytest.raises(UntrustedPointerError) as caught:
        verify_pointer(forged, trusted.ring)
    assert caught.value.reason == BAD_SIGNATURE


def test_a_ring_of_two_keys_accepts_records_of_either() -> None:
    """During a rotation, serving trusts the old and the new key."""
    old, new = PointerKey.generate(), PointerKey.generate()
    ring = PublicKeyRing({**old.ring.keys, **new.ring.keys})
    assert verify_pointer(_record(old), ring) == old.signer.key_id
    assert verify_pointer(_record(new), ring) == new.signer.key_id


def _with_rollout(mode: int) -> records_pb2.ServingPointer:
    pointer = _record(PointerKey.generate())
    pointer.rollout.CopyFrom(_rollout(mode))
    return pointer


def test_the_rollout_mode_is_signed_as_its_number() -> None:
    """The rollout object carries the mode as the enum's number, not its name."""
    canonical = canonical_pointer_bytes(_with_rollout(records_pb2.ROLLOUT_MODE_STAGED))
    assert b'"mode":2,' in canonical


def test_a_rollout_mode_this_build_does_not_know_is_refused_not_raised() -> None:
    """A record whose mode has no name here (a newer writer, or a tampered value) is
    refused as bad_signature by verification instead of raising ValueError."""
    key = PointerKey.generate()
    signed = key.signer.sign(_with_rollout(records_pb2.ROLLOUT_MODE_STAGED))
    signed.rollout.mode = 7  # type: ignore[assignment]
    with pytest.raises(UntrustedPointerError) as caught:
        verify_pointer(signed, key.ring)
    assert caught.value.reason == BAD_SIGNATURE
