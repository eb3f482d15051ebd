"""The control plane that tests run has the interceptor chain that `python -m control_plane`
runs: instrumentation (spans, metrics, error mapping), then authentication, built by one
function. Authentication's refusals are mapped and measured like any handler's error."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import control_plane.__main__ as entry_point
import control_plane.server as control_plane_server
from control_plane.auth.authenticators import TokenAuthenticator
from control_plane.auth.credentials import create_credentials
from control_plane.auth.interceptor import AuthInterceptor
from control_plane.auth.principals import load_principals
from control_plane.config import ControlPlaneConfig
from control_plane.server import COMPONENT, SERVICE_NAME, interceptor_chain
from control_plane.signing_key import ensure_signing_key
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.local_server import LocalEtcd
from recmesh.server.build import build_server
from recmesh.server.instrumentation import InstrumentingInterceptor
from recmesh.server.run import ServerHandle
from recmesh.telemetry.metrics import ServerMetrics
from tests.control_plane.harness import code_of, details_of, rpc_error, running_control_plane

PRODUCTION_CHAIN = [InstrumentingInterceptor, AuthInterceptor]


def test_the_chain_is_instrumentation_then_authentication(tmp_path: Path) -> None:
    files = create_credentials(tmp_path / "credentials")
    chain = interceptor_chain(
        TokenAuthenticator(load_principals(files.principals)), TracerProvider(), None
    )
    assert [type(interceptor) for interceptor in chain] == PRODUCTION_CHAIN


def _config(etcd: LocalEtcd, directory: Path) -> ControlPlaneConfig:
    """A control plane installation of its own, as the entry point's options make one."""
    keys = KeySchema(f"/recmesh-test/{uuid.uuid4().hex[:12]}")
    etcd.allow(keys.prefix)
    assert etcd.passwords is not None
    return ControlPlaneConfig(
        artifacts_dir=directory / "artifacts",
        credentials_file=create_credentials(directory / "credentials").principals,
        signing_key=ensure_signing_key(directory / "credentials").private,
        etcd_endpoints=(etcd.endpoint,),
        etcd_prefix=keys.prefix,
        port=0,
        etcd_credentials=etcd.passwords.control_plane,
    )


def test_tests_and_the_entry_point_build_the_same_chain(
    shared_etcd: LocalEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chain the server is built with, as the test harness starts a control plane and
    as the entry point's serve() does: the same interceptor classes in the same order."""
    built: list[list[type]] = []

    def spy(**kwargs: Any) -> Any:
        built.append([type(interceptor) for interceptor in kwargs["interceptors"]])
        return build_server(**kwargs)

    monkeypatch.setattr(control_plane_server, "build_server", spy)
    with running_control_plane(shared_etcd, tmp_path / "harness"):
        pass

    served: list[ServerHandle] = []

    async def until_signal(handle: ServerHandle, grace: float, **details: object) -> None:
        served.append(handle)
        await handle.stop(grace)

    monkeypatch.setattr(entry_point, "run_until_signal", until_signal)
    asyncio.run(entry_point.serve(_config(shared_etcd, tmp_path / "main"), None, None, 0.1))
    assert len(served) == 1
    assert built == [PRODUCTION_CHAIN, PRODUCTION_CHAIN]


def _count(metrics: ServerMetrics, method: str, code: grpc.StatusCode) -> float:
    value = metrics.registry.get_sample_value(
        "recmesh_rpc_requests_total", {"component": COMPONENT, "method": method, "code": code.name}
    )
    return value or 0.0


def _spans(exporter: InMemorySpanExporter, count: int) -> Sequence[ReadableSpan]:
    """The finished spans once there are `count` (a refused call's status can reach the
    caller just before its span ends)."""
    deadline = time.monotonic() + 5
    while len(exporter.get_finished_spans()) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return exporter.get_finished_spans()


def test_refusals_of_authentication_are_mapped_traced_and_counted(
    shared_etcd: LocalEtcd, tmp_path: Path
) -> None:
    """Unauthenticated and permission-denied calls (unary and server-streaming) end with
    their status, in a span marked with it and counted under it; an admitted call after a
    refused one is admitted (authentication decides each call anew)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    metrics = ServerMetrics(COMPONENT)
    with running_control_plane(
        shared_etcd, tmp_path, tracer_provider=provider, metrics=metrics
    ) as harness:
        stub = harness.stub
        error = rpc_error(stub.WhoAmI, pb.WhoAmIRequest(), timeout=5)
        assert code_of(error) == grpc.StatusCode.UNAUTHENTICATED
        assert "authorization: Bearer TOKEN" in details_of(error)
        assert stub.WhoAmI(pb.WhoAmIRequest(), metadata=harness.auth("bob"), timeout=5).principal
        error = rpc_error(
            stub.Promote, pb.PromoteRequest(experiment_id="exp-1"), metadata=harness.auth("bob")
        )
        assert code_of(error) == grpc.StatusCode.PERMISSION_DENIED
        error = rpc_error(next, stub.WatchPointer(pb.WatchPointerRequest(), timeout=5))
        assert code_of(error) == grpc.StatusCode.UNAUTHENTICATED
        spans = _spans(exporter, 4)
    assert _count(metrics, "WhoAmI", grpc.StatusCode.UNAUTHENTICATED) == 1
    assert _count(metrics, "WhoAmI", grpc.StatusCode.OK) == 1
    assert _count(metrics, "Promote", grpc.StatusCode.PERMISSION_DENIED) == 1
    assert _count(metrics, "WatchPointer", grpc.StatusCode.UNAUTHENTICATED) == 1
    names = [span.name.rpartition("/")[2] for span in spans]
    assert names[:4] == ["WhoAmI", "WhoAmI", "Promote", "WatchPointer"]
    assert all(span.name.startswith(f"/{SERVICE_NAME}/") for span in spans)
    refused = [spans[0], spans[2], spans[3]]
    assert [span.status.status_code for span in refused] == [StatusCode.ERROR] * 3
    assert [(span.status.description or "").split(":")[0] for span in refused] == [
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
        "UNAUTHENTICATED",
    ]
    assert spans[1].status.status_code is StatusCode.UNSET


def test_a_body_that_does_not_parse_is_invalid_argument(
    shared_etcd: LocalEtcd, tmp_path: Path
) -> None:
    """As in production, a request body that does not parse is refused INVALID_ARGUMENT
    naming the method, before authentication runs."""
    with running_control_plane(shared_etcd, tmp_path) as harness:
        raw = harness.channel.unary_unary(f"/{SERVICE_NAME}/WhoAmI", None, None)
        error = rpc_error(raw, b"\x0a\x05ab", metadata=harness.auth("bob"), timeout=5)
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    assert f"/{SERVICE_NAME}/WhoAmI" in details_of(error)
