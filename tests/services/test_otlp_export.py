"""Spans leave over OTLP when the standard OTEL_* variables name a collector.

The collector here is a real OTLP/gRPC trace service on loopback (the protocol's
own generated servicer), so what is checked is what an OpenTelemetry collector
would receive: spans, their service.name, their trace ids.
"""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.etcd.local_server import LocalEtcd
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port
from recmesh.telemetry.tracing import create_tracer_provider, otlp_configured
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import serving_etcd_arguments, write_pointer
from tests.pointer_signing import serving_trust_arguments
from tests.processes import kill_if_running, wait_until_serving

# (service.name, span name, trace id as 32 hex digits)
ReceivedSpan = tuple[str, str, str]
OTEL_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """Keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: queue.Queue[ReceivedSpan] = queue.Queue()

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        for resource_spans in request.resource_spans:
            service = next(
                (
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                ),
                "",
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.put((service, span.name, span.trace_id.hex()))
        return trace_service_pb2.ExportTraceServiceResponse()

    def wait_for(self, wanted: Callable[[ReceivedSpan], bool], timeout: float) -> ReceivedSpan:
        deadline = time.monotonic() + timeout
        while True:
            try:
                span = self.spans.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError("the collector received no such span") from None
            if wanted(span):
                return span


@contextmanager
def running_collector() -> Iterator[tuple[str, Collector]]:
    """An OTLP/gRPC collector on a free loopback port; yields its endpoint URL."""
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    collector = Collector()
    # opentelemetry-proto's generated gRPC module carries no type hints.
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
        collector, server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", collector
    finally:
        server.stop(0)


def test_no_otlp_without_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not otlp_configured()


def test_tracer_provider_exports_to_the_collector_the_variables_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with running_collector() as (endpoint, collector):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
        provider = create_tracer_provider("recmesh-probe")
        with provider.get_tracer("probe").start_as_current_span("probe-span") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
        provider.shutdown()  # flushes the batch
        received = collector.wait_for(lambda s: s[1] == "probe-span", timeout=10)
    assert received == ("recmesh-probe", "probe-span", trace_id)


def test_a_serving_process_exports_its_rpc_spans_in_the_callers_trace(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """`python -m services.candidates` with OTEL_EXPORTER_OTLP_ENDPOINT set: a call carrying
    a W3C traceparent reaches the collector as a GetCandidates span of that trace, from
    service recmesh-candidates."""
    baseline = serving_versions.baseline
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    port = free_loopback_port()
    with running_collector() as (endpoint, collector):
        env = {
            **os.environ,
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
        }
        argv = [
            sys.executable, "-m", "services.candidates",
            "--port", str(port),
            "--etcd", etcd_server.endpoint, *serving_etcd_arguments(etcd_server),
            "--artifacts", str(serving_versions.store_dir),
            *serving_trust_arguments(tmp_path),
        ]  # fmt: skip
        log_path = tmp_path / "candidates.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            asyncio.run(
                write_pointer(etcd_server, baseline.version_id, baseline.manifest_sha256)
            )
            wait_until_serving(f"127.0.0.1:{port}", process, log_path)
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                candidates_pb2_grpc.CandidatesServiceStub(channel).GetCandidates(
                    candidates_pb2.GetCandidatesRequest(
                        user_id="196", max_candidates=50, serving_version=baseline.version_id
                    ),
                    metadata=(("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01"),),
                    timeout=10,
                )
            received = collector.wait_for(lambda s: s[2] == trace_id, timeout=10)
            process.send_signal(signal.SIGTERM)
            assert process.wait(20) == 0, log_path.read_text()
        finally:
            kill_if_running(process)
    assert received == (
        "recmesh-candidates",
        "/recmesh.candidates.v1.CandidatesService/GetCandidates",
        trace_id,
    )
