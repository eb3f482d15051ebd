"""SIGTERM lets a call already in flight finish before the process exits.

The front (`python -m services.recommend`, the real entry point) is sent SIGTERM
while a Recommend is inside it, held there by a candidates server that answers only
when its deadline runs out. The caller must get the front's answer (degraded, from
its popularity list), not a cancelled call, and the process must exit 0.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2_grpc

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc
from recmesh.etcd.local_server import LocalEtcd
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import serving_etcd_arguments, write_pointer
from tests.pointer_signing import serving_trust_arguments
from tests.processes import kill_if_running, wait_until_serving


class HoldingCandidates(candidates_pb2_grpc.CandidatesServiceServicer):
    """Answers nothing until the caller's deadline has passed; says when a call arrived."""

    def __init__(self) -> None:
        self.called = threading.Event()

    def GetCandidates(
        self, request: candidates_pb2.GetCandidatesRequest, context: Any
    ) -> candidates_pb2.GetCandidatesResponse:
        self.called.set()
        while context.is_active():
            time.sleep(0.01)
        return candidates_pb2.GetCandidatesResponse()

    def GetCandidatesBatch(
        self, request: candidates_pb2.GetCandidatesBatchRequest, context: Any
    ) -> candidates_pb2.GetCandidatesBatchResponse:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "this fake serves GetCandidates only")
        raise AssertionError("context.abort raises")


@contextmanager
def holding_candidates() -> Iterator[tuple[int, HoldingCandidates]]:
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    servicer = HoldingCandidates()
    candidates_pb2_grpc.add_CandidatesServiceServicer_to_server(servicer, server)
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port, servicer
    finally:
        server.stop(0)


def test_sigterm_lets_an_in_flight_recommend_finish(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    baseline = serving_versions.baseline
    port = free_loopback_port()
    log_path = tmp_path / "recommend.log"
    with holding_candidates() as (candidates_port, candidates):
        argv = [
            sys.executable, "-m", "services.recommend",
            "--port", str(port),
            "--etcd", etcd_server.endpoint, *serving_etcd_arguments(etcd_server),
            "--artifacts", str(serving_versions.store_dir),
            "--candidates", f"127.0.0.1:{candidates_port}",
            "--ranking", f"127.0.0.1:{free_loopback_port()}",
            "--impressions", str(tmp_path / "impressions.jsonl"),
            "--drain-seconds", "10",
            *serving_trust_arguments(tmp_path),
        ]  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            asyncio.run(
                write_pointer(etcd_server, baseline.version_id, baseline.manifest_sha256)
            )
            wait_until_serving(f"127.0.0.1:{port}", process, log_path)
            with (
                grpc.insecure_channel(f"127.0.0.1:{port}") as channel,
                ThreadPoolExecutor(max_workers=1) as caller,
            ):
                stub = recommend_pb2_grpc.RecommendServiceStub(channel)
                answer: Future[recommend_pb2.RecommendResponse] = caller.submit(
                    stub.Recommend, recommend_pb2.RecommendRequest(user_id="196", k=5), timeout=10
                )
                assert candidates.called.wait(10), "the Recommend never reached candidates"
                process.send_signal(signal.SIGTERM)
                response = answer.result(timeout=20)
            assert process.wait(20) == 0, log_path.read_text()
        finally:
            kill_if_running(process)
    assert response.degraded
    assert response.degraded_reason == recommend_pb2.DEGRADED_REASON_CANDIDATES_UNAVAILABLE
    assert len(response.items) == 5
    assert response.serving_version == baseline.version_id
    assert '"event": "draining"' in log_path.read_text()
