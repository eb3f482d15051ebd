"""Waits until gRPC servers report SERVING on the standard health service."""

from __future__ import annotations

import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from recmesh.rpc.tls import TlsFiles, channel_credentials


def is_serving(address: str, timeout: float = 0.5, tls: TlsFiles | None = None) -> bool:
    """Whether the server at address answers health SERVING; with tls the check goes
    over mutual TLS, presenting tls.cert."""
    channel = (
        grpc.insecure_channel(address)
        if tls is None
        else grpc.secure_channel(address, channel_credentials(tls))
    )
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.RpcError:
            return False
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)


def wait_serving(
    addresses: dict[str, str], timeout: float, tls: TlsFiles | None = None
) -> list[str]:
    """Polls until every named address is SERVING; returns the names still not serving."""
    deadline = time.monotonic() + timeout
    pending = dict(addresses)
    while pending and time.monotonic() < deadline:
        for name, address in list(pending.items()):
            if is_serving(address, tls=tls):
                del pending[name]
        if pending:
            time.sleep(0.1)
    return sorted(pending)
