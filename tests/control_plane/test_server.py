"""create_server: health and reflection, and UNAVAILABLE (not half-written state) when etcd
is down."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from control_plane.audit_log import AuditLog
from control_plane.clock import utc_now
from control_plane.server import SERVICE_NAME
from control_plane.store.etcd_kv import EtcdKV
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.users import ROOT_USER
from tests.control_plane.harness import (
    ControlPlaneHarness,
    code_of,
    details_of,
    rpc_error,
    running_control_plane,
)


def test_health_and_reflection(control_plane: ControlPlaneHarness) -> None:
    """The server reports SERVING for itself and the service, and lists it by reflection."""
    health = health_pb2_grpc.HealthStub(control_plane.channel)
    for service in ("", SERVICE_NAME):
        status = health.Check(health_pb2.HealthCheckRequest(service=service)).status
        assert status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(control_plane.channel)
    responses = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert SERVICE_NAME == "recmesh.controlplane.v1.ControlPlaneService"
    assert SERVICE_NAME in names


def test_etcd_down_is_unavailable_and_nothing_half_written(
    etcd_server: LocalEtcd, tmp_path: Path
) -> None:
    """With etcd stopped, Promote and CreateExperiment are UNAVAILABLE naming etcd; after
    etcd returns, the pointer, records and audit chain are exactly as before, and the same
    promotion then succeeds."""
    with running_control_plane(etcd_server, tmp_path, etcd_timeout_s=2.0) as cp:
        experiment = cp.approved_experiment(cp.challenger_a)
        challenger_b = cp.register(cp.challenger_b)
        before_pointer = cp.etcd_get(cp.keys.pointer)
        entries_before = len(cp.audit_entries())
        etcd_server.stop()

        error = rpc_error(cp.promote, experiment.experiment_id)
        assert code_of(error) == grpc.StatusCode.UNAVAILABLE
        assert f"etcd at {etcd_server.endpoint} is unavailable" in details_of(error)
        error = rpc_error(cp.create_experiment, challenger_b)
        assert code_of(error) == grpc.StatusCode.UNAVAILABLE

        etcd_server.start()
        assert cp.etcd_get(cp.keys.pointer) == before_pointer
        assert cp.etcd_get(cp.keys.promotion(experiment.experiment_id)) is None

        async def verify() -> tuple[int, bool]:
            kv = EtcdKV([etcd_server.endpoint], credentials=etcd_server.credentials(ROOT_USER))
            await kv.connect()
            audit = AuditLog(kv, cp.keys, utc_now)
            entries, report = await audit.entries(), await audit.verify()
            await kv.close()
            return len(entries), report.ok

        assert asyncio.run(verify()) == (entries_before, True)

        deadline = time.monotonic() + 15
        while True:
            try:
                response = cp.promote(experiment.experiment_id)
                break
            except grpc.RpcError as exc:
                if code_of(exc) != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert response.pointer.serving_version == experiment.spec.challenger_version
        assert cp.stub.VerifyAuditLog(pb.VerifyAuditLogRequest(), metadata=cp.auth("bob")).ok
