"""Manifests are canonical, round-trip exactly and enforce their invariants."""

from __future__ import annotations

import pytest

from recmesh.artifacts.store import sha256_hex
from recmesh.bundle.manifest import (
    BlobRef,
    BundleFormatError,
    BundleManifest,
    version_id_of,
)

SNAP = BlobRef(sha256_hex(b"snapshot"), 8)
MODEL = BlobRef(sha256_hex(b"model"), 5)


def _manifest(kind: str = "xgboost", model: BlobRef | None = MODEL) -> BundleManifest:
    return BundleManifest(
        kind=kind,
        snapshot=SNAP,
        model=model,
        feature_names=("a", "b"),
        feature_schema_fingerprint="f" * 64,
        dataset_name="ml-100k",
        dataset_fingerprint="d" * 64,
    )


def test_manifest_round_trips_through_canonical_json() -> None:
    """from_json_bytes(to_json_bytes(m)) == m, and the bytes are stable."""
    manifest = _manifest()
    data = manifest.to_json_bytes()
    assert BundleManifest.from_json_bytes(data) == manifest
    assert _manifest().to_json_bytes() == data


def test_baseline_has_no_model_and_xgboost_needs_one() -> None:
    """The model field must match the kind."""
    assert _manifest("baseline", None).model is None
    with pytest.raises(BundleFormatError):
        _manifest("xgboost", None)
    with pytest.raises(BundleFormatError):
        _manifest("baseline", MODEL)


def test_malformed_manifests_raise_bundle_format_error() -> None:
    """Garbage, missing keys and bad digests are BundleFormatError, not KeyError."""
    for data in (
        b"not json",
        b"{}",
        _manifest().to_json_bytes().replace(SNAP.sha256.encode(), b"zz"),
    ):
        with pytest.raises(BundleFormatError):
            BundleManifest.from_json_bytes(data)


def test_version_id_is_derived_from_the_manifest_digest() -> None:
    """sv- plus the first 16 hex digits."""
    digest = sha256_hex(b"x")
    assert version_id_of(digest) == "sv-" + digest[:16]
