"""The manifest of a serving version.

A serving version is an XGBoost model (or none, for the baseline) plus a data
snapshot, versioned apart: the model was trained on one set of interactions
(an experiment's TRAIN split), the snapshot that serves is built from every
interaction known when it was built. The manifest names both files by sha256,
records the feature schema the model expects and both datasets' fingerprints:
`training_dataset_fingerprint` (the model's; empty for a baseline) and
`dataset_fingerprint` (the snapshot's). It is stored as canonical JSON in the
artifact store; its own sha256 identifies the serving version, whose id is
"sv-" plus the first 16 hex digits of that sha256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from recmesh.artifacts.store import check_digest

FORMAT_VERSION = 2
#: Format 1 had no training_dataset_fingerprint; it is read as empty.
READABLE_FORMATS = (1, 2)
KIND_BASELINE = "baseline"
KIND_XGBOOST = "xgboost"
KINDS = (KIND_BASELINE, KIND_XGBOOST)


class BundleFormatError(ValueError):
    """A manifest that cannot be parsed or breaks an invariant."""


@dataclass(frozen=True)
class BlobRef:
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class BundleManifest:
    """What a serving version is made of. Invariant: model is None iff kind is baseline."""

    kind: str
    snapshot: BlobRef
    model: BlobRef | None
    feature_names: tuple[str, ...]
    feature_schema_fingerprint: str
    dataset_name: str
    dataset_fingerprint: str
    training_dataset_fingerprint: str = ""
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BundleFormatError(f"unknown bundle kind {self.kind!r}; expected one of {KINDS}")
        if self.kind == KIND_XGBOOST and self.model is None:
            raise BundleFormatError("an xgboost bundle must name its model")
        if self.kind == KIND_BASELINE and self.model is not None:
            raise BundleFormatError("a baseline bundle has no model")
        if self.kind == KIND_BASELINE and self.training_dataset_fingerprint:
            raise BundleFormatError("a baseline bundle has no training dataset")

    @property
    def model_sha256(self) -> str:
        """The model file's sha256; empty for a baseline."""
        return "" if self.model is None else self.model.sha256

    def to_json_bytes(self) -> bytes:
        """Canonical JSON: sorted keys, no whitespace, so equal manifests hash equally."""
        body: dict[str, Any] = {
            "format_version": self.format_version,
            "kind": self.kind,
            "snapshot": {"sha256": self.snapshot.sha256, "size_bytes": self.snapshot.size_bytes},
            "model": None
            if self.model is None
            else {"sha256": self.model.sha256, "size_bytes": self.model.size_bytes},
            "feature_names": list(self.feature_names),
            "feature_schema_fingerprint": self.feature_schema_fingerprint,
            "dataset_name": self.dataset_name,
            "dataset_fingerprint": self.dataset_fingerprint,
        }
        if self.format_version >= 2:
            body["training_dataset_fingerprint"] = self.training_dataset_fingerprint
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json_bytes(cls, data: bytes) -> BundleManifest:
        try:
            body = json.loads(data)
            version = body["format_version"]
            if version not in READABLE_FORMATS:
                raise BundleFormatError(
                    f"manifest format_version {version} is not one of {READABLE_FORMATS}"
                )
            model = body["model"]
            return cls(
                kind=str(body["kind"]),
                snapshot=_blob(body["snapshot"]),
                model=None if model is None else _blob(model),
                feature_names=tuple(str(n) for n in body["feature_names"]),
                feature_schema_fingerprint=str(body["feature_schema_fingerprint"]),
                dataset_name=str(body["dataset_name"]),
                dataset_fingerprint=str(body["dataset_fingerprint"]),
                training_dataset_fingerprint=str(body.get("training_dataset_fingerprint", "")),
                format_version=int(version),
            )
        except (ValueError, KeyError, TypeError) as exc:
            if isinstance(exc, BundleFormatError):
                raise
            raise BundleFormatError(f"malformed bundle manifest: {exc!r}") from exc


def _blob(raw: Any) -> BlobRef:
    return BlobRef(sha256=check_digest(str(raw["sha256"])), size_bytes=int(raw["size_bytes"]))


def version_id_of(manifest_sha256: str) -> str:
    """The serving version id of the manifest with this sha256."""
    return "sv-" + check_digest(manifest_sha256)[:16]
