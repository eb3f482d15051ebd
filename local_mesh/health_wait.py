"""Waits until gRPC servers report SERVING on the standard health service."""

from __future__ import annotations

import time

from recmesh.rpc.tls import TlsFiles
from recmesh.server.healthcheck import probe_health


def is_serving(address: str, timeout: float = 0.5, tls: TlsFiles | None = None) -> bool:
    """Whether the server at address answers health SERVING; with tls the check goes
    over mutual TLS, presenting tls.cert."""
    return probe_health(address, timeout=timeout, tls=tls).serving


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
