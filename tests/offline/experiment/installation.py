"""A real control plane for experiment runs: real etcd, the real server, a real baseline.

Unlike the control plane tests' fake bundles, the baseline here is a real serving
bundle (a snapshot of the dataset, no model) written into the artifact store, so
the runner can rebuild and evaluate the champion as it would in production.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from control_plane.auth.client_tokens import load_client_tokens
from control_plane.auth.credentials import CredentialFiles, create_credentials
from control_plane.bootstrap import SigningKeyFiles, bootstrap_baseline, ensure_signing_key
from control_plane.config import ControlPlaneConfig
from control_plane.server import create_server
from recmesh.api.controlplane.v1 import control_plane_pb2_grpc
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.writer import write_bundle
from recmesh.core.features.pipeline import build_feature_pipeline
from recmesh.data.dataset import Dataset
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.users import CONTROL_PLANE_USER
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.codec import snapshot_to_bytes
from tests.control_plane.harness import LoopThread


@dataclass
class Installation:
    """A running control plane with a real baseline serving, and how to reach it."""

    address: str
    artifacts: LocalArtifactStore
    credentials: CredentialFiles
    tokens: dict[str, str]
    stub: Any
    baseline_version: str
    prefix: str
    #: The control plane's pointer signing key pair (made for the test).
    signing_key: SigningKeyFiles

    def auth(self, name: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.tokens[name]}"),)

    def cli_args(self, name: str = "alice") -> list[str]:
        return [
            "--control-plane", self.address,
            "--credentials", str(self.credentials.client_tokens),
            "--as", name,
            "--artifacts", str(self.artifacts.root),
        ]  # fmt: skip


@contextmanager
def running_installation(
    etcd: LocalEtcd, directory: Path, dataset: Dataset, prefix: str | None = None
) -> Iterator[Installation]:
    """A control plane under `prefix` (default: a fresh one) whose pointer names a baseline
    bundle built from `dataset` (a default snapshot, no model). It acts as etcd's
    control-plane user, granted the prefix."""
    keys = KeySchema(prefix or f"/recmesh-experiment-test/{uuid.uuid4().hex[:12]}")
    etcd_endpoint = etcd.endpoint
    etcd.allow(keys.prefix)
    as_control_plane = etcd.credentials(CONTROL_PLANE_USER)
    artifacts = LocalArtifactStore(directory / "artifacts")
    credentials = create_credentials(directory / "credentials")
    signing_key = ensure_signing_key(directory / "credentials")
    snapshot = build_snapshot(dataset, dataset.interactions)
    schema = build_feature_pipeline(snapshot).schema
    baseline = write_bundle(
        artifacts,
        snapshot_bytes=snapshot_to_bytes(snapshot),
        model_bytes=None,
        feature_names=schema.names,
        feature_schema_fingerprint=schema.fingerprint,
        dataset_name=dataset.name,
        dataset_fingerprint=dataset.fingerprint,
    )
    bootstrap_baseline(
        [etcd_endpoint],
        artifacts.root,
        baseline.manifest_sha256,
        prefix=keys.prefix,
        signing_key=signing_key.private,
        credentials=as_control_plane,
    )
    config = ControlPlaneConfig(
        artifacts_dir=artifacts.root,
        credentials_file=credentials.principals,
        signing_key=signing_key.private,
        etcd_endpoints=(etcd_endpoint,),
        etcd_prefix=keys.prefix,
        etcd_credentials=as_control_plane,
        port=0,
    )
    loop = LoopThread()
    started = loop.run(create_server(config))
    server, port = started.server, started.port
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Installation(
            address=f"127.0.0.1:{port}",
            artifacts=artifacts,
            credentials=credentials,
            tokens=load_client_tokens(credentials.client_tokens),
            stub=control_plane_pb2_grpc.ControlPlaneServiceStub(channel),
            baseline_version=baseline.version_id,
            prefix=keys.prefix,
            signing_key=signing_key,
        )
    finally:
        channel.close()
        loop.run(server.stop(0.5))
        loop.close()
