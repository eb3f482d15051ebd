"""Registered serving versions: a manifest in the artifact store, verified, plus lineage.

Registration reads the manifest and every artifact it names from the artifact
store and checks each against its sha256 and size before the record is
written, so a registered version is always loadable. The version id follows
from the manifest's sha256, which makes registering the same manifest again a
no-op that returns the first record.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock, timestamp
from control_plane.store.codec import decode, encode
from control_plane.store.errors import ConflictError
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.records import RecordReader
from control_plane.store.txn import KeyAbsent, Put
from control_plane.validation import MAX_TEXT
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.artifacts.errors import (
    ArtifactChecksumError,
    ArtifactNotFoundError,
    ArtifactStoreUnavailableError,
    InvalidDigestError,
)
from recmesh.artifacts.protocol import ArtifactStore
from recmesh.artifacts.store import check_digest
from recmesh.bundle.manifest import (
    KIND_BASELINE,
    BlobRef,
    BundleFormatError,
    BundleManifest,
    version_id_of,
)
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import FailedPreconditionError, InvalidArgumentError, UnavailableError


@dataclass(frozen=True)
class Registration:
    model_version: records_pb2.ModelVersion
    created: bool


class ModelRegistry:
    def __init__(
        self,
        artifacts: ArtifactStore,
        kv: EtcdKV,
        keys: KeySchema,
        records: RecordReader,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self._artifacts = artifacts
        self._kv = kv
        self._keys = keys
        self._records = records
        self._audit = audit
        self._clock = clock

    async def register(
        self,
        manifest_sha256: str,
        lineage: records_pb2.Lineage,
        description: str,
        actor: str,
    ) -> Registration:
        try:
            check_digest(manifest_sha256)
        except InvalidDigestError:
            raise InvalidArgumentError(
                f"manifest_sha256 must be 64 lower-case hex digits, got {manifest_sha256!r}"
            ) from None
        if len(description) > MAX_TEXT:
            raise InvalidArgumentError(f"description is longer than {MAX_TEXT} characters")
        version_id = version_id_of(manifest_sha256)
        key = self._keys.model(version_id)
        existing = await self._kv.find(key)
        if existing is not None:
            return Registration(
                self._same_manifest(decode(existing, records_pb2.ModelVersion), manifest_sha256),
                created=False,
            )
        model = await asyncio.to_thread(self.verified_model, manifest_sha256, lineage)
        model.description = description
        model.registered_by = actor
        model.registered_at.CopyFrom(timestamp(self._clock))
        draft = AuditDraft(
            actor=actor,
            action="register_model",
            subject=version_id,
            details={
                "manifest_sha256": manifest_sha256,
                "kind": records_pb2.ModelKind.Name(model.kind),
                "dataset_fingerprint": model.lineage.dataset_fingerprint,
                "code_revision": model.lineage.code_revision,
            },
        )
        try:
            await self._audit.commit(draft, [KeyAbsent(key)], [Put(key, encode(model))])
        except ConflictError:
            # Registered concurrently by someone else: the first record stands.
            return Registration(await self._records.model(version_id), created=False)
        return Registration(model, created=True)

    def _same_manifest(
        self, model: records_pb2.ModelVersion, manifest_sha256: str
    ) -> records_pb2.ModelVersion:
        if model.manifest_sha256 != manifest_sha256:
            raise FailedPreconditionError(
                f"version id {model.version_id} is already taken by manifest "
                f"{model.manifest_sha256} (a 64-bit prefix collision)"
            )
        return model

    def verified_model(
        self, manifest_sha256: str, lineage: records_pb2.Lineage
    ) -> records_pb2.ModelVersion:
        """The ModelVersion record of a manifest in the store, not yet registered: reads
        and checks the manifest and its artifacts (blocking; run in a thread)."""
        manifest_bytes = self._read(manifest_sha256, "manifest")
        try:
            manifest = BundleManifest.from_json_bytes(manifest_bytes)
        except BundleFormatError as exc:
            raise InvalidArgumentError(
                f"sha256:{manifest_sha256} is not a bundle manifest: {exc}"
            ) from exc
        artifacts = [self._ref("manifest", manifest_sha256, len(manifest_bytes))]
        named: list[tuple[str, BlobRef]] = [("snapshot", manifest.snapshot)]
        if manifest.model is not None:
            named.append(("model", manifest.model))
        for name, blob in named:
            data = self._read(blob.sha256, name)
            if len(data) != blob.size_bytes:
                raise FailedPreconditionError(
                    f"{name} sha256:{blob.sha256} has {len(data)} bytes, the manifest says "
                    f"{blob.size_bytes}"
                )
            artifacts.append(self._ref(name, blob.sha256, blob.size_bytes))
        return records_pb2.ModelVersion(
            version_id=version_id_of(manifest_sha256),
            manifest_sha256=manifest_sha256,
            kind=records_pb2.MODEL_KIND_BASELINE
            if manifest.kind == KIND_BASELINE
            else records_pb2.MODEL_KIND_XGBOOST,
            artifacts=artifacts,
            feature_schema_fingerprint=manifest.feature_schema_fingerprint,
            lineage=_lineage(lineage, manifest),
            model_sha256=manifest.model_sha256,
            training_dataset_fingerprint=manifest.training_dataset_fingerprint,
        )

    def _read(self, sha256: str, name: str) -> bytes:
        try:
            return self._artifacts.get_bytes(sha256)
        except ArtifactNotFoundError:
            raise FailedPreconditionError(
                f"{name} sha256:{sha256} is not in the artifact store; upload it first "
                "(UploadArtifact, or write the bundle into the store)"
            ) from None
        except ArtifactChecksumError as exc:
            raise FailedPreconditionError(
                f"{name} in the artifact store is corrupt: {exc}"
            ) from exc
        except ArtifactStoreUnavailableError as exc:
            raise UnavailableError(f"{name} could not be read: {exc}") from exc

    def _ref(self, name: str, sha256: str, size: int) -> records_pb2.ArtifactRef:
        uri = self._artifacts.uri_of(sha256)
        return records_pb2.ArtifactRef(name=name, sha256=sha256, size_bytes=size, uri=uri)


def _lineage(given: records_pb2.Lineage, manifest: BundleManifest) -> records_pb2.Lineage:
    """The caller's lineage, with the dataset filled in from the manifest; a dataset that
    disagrees with the manifest is refused."""
    lineage = records_pb2.Lineage()
    lineage.CopyFrom(given)
    for field, from_manifest in (
        ("dataset_name", manifest.dataset_name),
        ("dataset_fingerprint", manifest.dataset_fingerprint),
    ):
        value = getattr(lineage, field)
        if value and value != from_manifest:
            raise InvalidArgumentError(
                f"lineage.{field} is {value!r} but the manifest says {from_manifest!r}"
            )
        setattr(lineage, field, from_manifest)
    return lineage
