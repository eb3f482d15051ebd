"""What `recmesh up` calls before and after starting the control plane.

    files = create_credentials(layout.credentials)            # principals + client tokens
    key = ensure_signing_key(layout.credentials)               # pointer-signing.key/.pub
    result = bootstrap_baseline(
        ["127.0.0.1:2379"], layout.artifacts, manifest_sha256, signing_key=key.private
    )

`bootstrap_baseline` registers the baseline bundle (whose manifest and
snapshot are already in the artifact store) as a model version, and points
serving at it when no pointer exists yet. Both steps are idempotent and
audited (`register_model`, `init_pointer`); run it again on every start. A pointer
value that does not parse or verify is left as it is and reported (`damaged`), never
fatal: serving keeps its last verified record and `recmesh rollback --to` repairs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from control_plane.audit_log import AuditLog
from control_plane.auth.credentials import CredentialFiles, create_credentials
from control_plane.clock import Clock, utc_now
from control_plane.model_registry import ModelRegistry
from control_plane.pointer import initialize_pointer
from control_plane.pointer_writer import PointerWriter
from control_plane.signing_key import SigningKeyFiles, ensure_signing_key
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.records import RecordReader
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.artifacts.factory import open_artifact_store
from recmesh.artifacts.location import ArtifactsLocation
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.keys import DEFAULT_PREFIX, KeySchema
from recmesh.rpc.tls import TlsFiles
from recmesh.signing.keys import PublicKeyRing, load_private_key
from recmesh.signing.sign import PointerSigner

__all__ = [
    "BootstrapResult",
    "CredentialFiles",
    "SigningKeyFiles",
    "bootstrap_baseline",
    "create_credentials",
    "ensure_signing_key",
]

DEFAULT_ACTOR = "recmesh-up"


@dataclass(frozen=True)
class BootstrapResult:
    model_version: records_pb2.ModelVersion
    #: False when the version was registered before.
    registered: bool
    #: The pointer now; None when the stored value is damaged (`damaged` names it).
    pointer: records_pb2.ServingPointer | None
    #: False when a pointer existed already (it is left as it was).
    pointer_initialized: bool
    damaged: records_pb2.DamagedRecord | None = None


async def bootstrap_baseline_async(
    etcd_endpoints: Sequence[str],
    artifacts_dir: ArtifactsLocation,
    manifest_sha256: str,
    *,
    signing_key: Path,
    prefix: str = DEFAULT_PREFIX,
    actor: str = DEFAULT_ACTOR,
    lineage: records_pb2.Lineage | None = None,
    description: str = "baseline: popularity and source order",
    clock: Clock = utc_now,
    tls: TlsFiles | None = None,
    credentials: EtcdCredentials | None = None,
) -> BootstrapResult:
    keys = KeySchema(prefix)
    private_key = load_private_key(signing_key)
    kv = EtcdKV(etcd_endpoints, tls=tls, credentials=credentials)
    await kv.connect()
    try:
        records = RecordReader(kv, keys, PublicKeyRing.of([private_key.public_key()]))
        audit = AuditLog(kv, keys, clock)
        writer = PointerWriter(keys, audit, PointerSigner(private_key))
        registry = ModelRegistry(
            open_artifact_store(artifacts_dir), kv, keys, records, audit, clock
        )
        registration = await registry.register(
            manifest_sha256, lineage or records_pb2.Lineage(), description, actor
        )
        init = await initialize_pointer(
            keys, records, writer, clock, registration.model_version.version_id, actor
        )
    finally:
        await kv.close()
    return BootstrapResult(
        model_version=registration.model_version,
        registered=registration.created,
        pointer=init.pointer,
        pointer_initialized=init.created,
        damaged=init.damaged,
    )


def bootstrap_baseline(
    etcd_endpoints: Sequence[str],
    artifacts_dir: ArtifactsLocation,
    manifest_sha256: str,
    *,
    signing_key: Path,
    prefix: str = DEFAULT_PREFIX,
    actor: str = DEFAULT_ACTOR,
    lineage: records_pb2.Lineage | None = None,
    tls: TlsFiles | None = None,
    credentials: EtcdCredentials | None = None,
) -> BootstrapResult:
    """Synchronous form of bootstrap_baseline_async, for callers without an event loop.
    With tls, etcd is reached over mutual TLS; with credentials, as that etcd user (the
    control plane's)."""
    return asyncio.run(
        bootstrap_baseline_async(
            etcd_endpoints,
            artifacts_dir,
            manifest_sha256,
            signing_key=signing_key,
            prefix=prefix,
            actor=actor,
            lineage=lineage,
            tls=tls,
            credentials=credentials,
        )
    )
