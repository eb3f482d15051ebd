"""The pointer's first value, GetPointer, and WatchPointer's current-then-changes stream."""

from __future__ import annotations

import asyncio
import queue
import threading
import uuid
from pathlib import Path
from typing import Any

import grpc

from control_plane.audit_log import AuditLog
from control_plane.clock import utc_now
from control_plane.model_registry import ModelRegistry
from control_plane.pointer import initialize_pointer
from control_plane.pointer_writer import PointerWriter
from control_plane.signing_key import ensure_signing_key
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.records import RecordReader
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.users import ROOT_USER
from recmesh.signing.keys import PublicKeyRing, load_private_key
from recmesh.signing.sign import PointerSigner
from tests.control_plane.harness import ControlPlaneHarness, write_fake_bundle


def test_initialize_pointer_writes_only_once(shared_etcd: LocalEtcd, tmp_path: Path) -> None:
    """The first call sets the pointer with an init_pointer entry; a later call with another
    version leaves it alone and reports created=False."""

    async def scenario() -> None:
        kv = EtcdKV([shared_etcd.endpoint], credentials=shared_etcd.credentials(ROOT_USER))
        await kv.connect()
        keys = KeySchema(f"/pointer-test/{uuid.uuid4().hex[:8]}")
        key = ensure_signing_key(tmp_path / "credentials")
        private = load_private_key(key.private)
        records = RecordReader(kv, keys, PublicKeyRing.of([private.public_key()]))
        audit = AuditLog(kv, keys, utc_now)
        writer = PointerWriter(keys, audit, PointerSigner(private))
        store = LocalArtifactStore(tmp_path)
        registry = ModelRegistry(store, kv, keys, records, audit, utc_now)
        versions = []
        for name in ("one", "two"):
            bundle = write_fake_bundle(store, name, with_model=False)
            registration = await registry.register(
                bundle.manifest_sha256, records_pb2.Lineage(), "", "recmesh-up"
            )
            versions.append(registration.model_version.version_id)
        first = await initialize_pointer(keys, records, writer, utc_now, versions[0], "recmesh-up")
        second = await initialize_pointer(keys, records, writer, utc_now, versions[1], "recmesh-up")
        assert first.created
        assert not second.created
        assert second.pointer == first.pointer
        assert first.pointer is not None
        assert first.pointer.serving_version == versions[0]
        actions = [e.action for e in await audit.entries()]
        assert actions == ["register_model", "register_model", "init_pointer"]
        await kv.close()

    asyncio.run(scenario())


def test_get_pointer_reports_version_and_revision(control_plane: ControlPlaneHarness) -> None:
    """GetPointer (service role) names the baseline, its manifest and etcd mod_revision."""
    pointer = control_plane.pointer()
    stored = control_plane.etcd_get(control_plane.keys.pointer)
    assert stored is not None
    assert pointer.serving_version == control_plane.baseline.version_id
    assert pointer.manifest_sha256 == control_plane.baseline.manifest_sha256
    assert pointer.revision == stored[1]


def test_watch_sends_current_then_each_change(control_plane: ControlPlaneHarness) -> None:
    """A service watching the pointer gets the current value, then the promotion, then the
    rollback, each with its revision."""
    received: queue.Queue[Any] = queue.Queue()
    stream = control_plane.stub.WatchPointer(
        pb.WatchPointerRequest(), metadata=control_plane.auth("serving")
    )

    def consume() -> None:
        try:
            for response in stream:
                received.put(response.pointer)
        except grpc.RpcError as exc:
            received.put(exc)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    first = received.get(timeout=5)
    assert first.serving_version == control_plane.baseline.version_id
    experiment = control_plane.approved_experiment(control_plane.challenger_a)
    promoted = control_plane.promote(experiment.experiment_id).pointer
    second = received.get(timeout=5)
    assert (second.serving_version, second.revision) == (
        promoted.serving_version,
        promoted.revision,
    )
    control_plane.stub.Rollback(
        pb.RollbackRequest(reason="test"), metadata=control_plane.auth("olga")
    )
    third = received.get(timeout=5)
    assert third.serving_version == control_plane.baseline.version_id
    assert third.revision > second.revision
    stream.cancel()
    thread.join(5)
