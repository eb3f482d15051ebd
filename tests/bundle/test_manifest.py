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


def test_manifest_records_both_datasets_and_the_model_digest() -> None:
    """The snapshot's and the model's training data are separate fields, and round-trip."""
    manifest = BundleManifest(
        kind="xgboost",
        snapshot=SNAP,
        model=MODEL,
        feature_names=("a",),
        feature_schema_fingerprint="f" * 64,
        dataset_name="ml-100k",
        dataset_fingerprint="d" * 64,
        training_dataset_fingerprint="t" * 64,
    )
    back = BundleManifest.from_json_bytes(manifest.to_json_bytes())
    assert back.training_dataset_fingerprint == "t" * 64
    assert back.dataset_fingerprint == "d" * 64
    assert back.model_sha256 == MODEL.sha256
    assert _manifest("baseline", None).model_sha256 == ""
    with pytest.raises(BundleFormatError, match="training dataset"):
        BundleManifest(
            kind="baseline", snapshot=SNAP, model=None, feature_names=("a",),
            feature_schema_fingerprint="f" * 64, dataset_name="x", dataset_fingerprint="d" * 64,
            training_dataset_fingerprint="t" * 64,
        )  # fmt: skip


def test_format_1_manifests_still_read_with_no_training_dataset() -> None:
    """A manifest written before the training fingerprint existed reads, with it empty,
    and keeps its own bytes (so its sha256, the version id, does not change)."""
    old = _manifest().to_json_bytes().replace(b'"format_version":2', b'"format_version":1')
    old = old.replace(b',"training_dataset_fingerprint":""', b"")
    manifest = BundleManifest.from_json_bytes(old)
    assert manifest.format_version == 1
    assert manifest.training_dataset_fingerprint == ""
    assert manifest.to_json_bytes() == old
