"""First-start set-up of the local mesh: credentials and the baseline serving version."""

from __future__ import annotations

from pathlib import Path

import structlog

from control_plane.bootstrap import (
    CredentialFiles,
    SigningKeyFiles,
    bootstrap_baseline,
    create_credentials,
    ensure_signing_key,
)
from local_mesh.layout import MeshLayout
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.console.progress import TerminalProgress
from recmesh.core.baseline import build_baseline_bundle
from recmesh.data.dataset import Dataset
from recmesh.data.fetch import fetch_ml100k
from recmesh.data.loaders import load_ml100k, load_path
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.rpc.tls import TlsFiles

log = structlog.get_logger("recmesh.bootstrap")


def ensure_credentials(layout: MeshLayout) -> CredentialFiles:
    """Demo principals (alice, bob, dana, olga, serving); kept when they already exist."""
    return create_credentials(layout.credentials)


def ensure_pointer_key(layout: MeshLayout) -> SigningKeyFiles:
    """The control plane's pointer signing key pair in the credentials directory (the
    private key mode 0600), made once and kept; serving gets the public key."""
    return ensure_signing_key(layout.credentials)


def load_dataset(layout: MeshLayout, dataset: str) -> Dataset:
    """ "ml-100k" (fetched and verified once into the state dir) or a path to a data file/dir."""
    if dataset == "ml-100k":
        return load_ml100k(fetch_ml100k(layout.data, TerminalProgress()))
    return load_path(Path(dataset))


def ensure_baseline_serving(
    layout: MeshLayout,
    etcd_endpoint: str,
    dataset: str,
    tls: TlsFiles | None = None,
    credentials: EtcdCredentials | None = None,
) -> records_pb2.ServingPointer | None:
    """Builds and registers the baseline version and points serving at it when no pointer
    exists yet (idempotent, audited; over mutual TLS to etcd with tls). Returns the
    pointer record as it is now (its sequence is the serving processes' floor), None
    when its value is damaged (logged: serving keeps its last verified record, `recmesh
    rollback --to` repairs it)."""
    data = load_dataset(layout, dataset)
    bundle = build_baseline_bundle(data, LocalArtifactStore(layout.artifacts))
    result = bootstrap_baseline(
        [etcd_endpoint],
        layout.artifacts,
        bundle.manifest_sha256,
        signing_key=ensure_pointer_key(layout).private,
        lineage=records_pb2.Lineage(
            dataset_name=data.name,
            dataset_fingerprint=data.fingerprint,
            split="none:all interactions",
        ),
        tls=tls,
        credentials=credentials,
    )
    if result.pointer is None:
        damaged = result.damaged
        log.error(
            "serving_pointer_damaged",
            key=None if damaged is None else damaged.key,
            problem=None if damaged is None else damaged.problem,
            repair="recmesh rollback --to VERSION --reason ... --as olga",
        )
        return None
    log.info(
        "baseline",
        version=bundle.version_id,
        registered=result.registered,
        pointer_initialized=result.pointer_initialized,
        serving=result.pointer.serving_version,
        sequence=result.pointer.sequence,
    )
    return result.pointer
