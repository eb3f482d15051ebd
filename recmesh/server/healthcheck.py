"""`recmesh-healthcheck` (or `python -m recmesh.server.healthcheck`): asks one server's
standard gRPC health service (grpc.health.v1) whether it is SERVING. The container
image's HEALTHCHECK runs it (infra/docker/Dockerfile).

Exits 0 only when the server answers SERVING, and 1 otherwise: NOT_SERVING (a server
that has loaded no version yet, or is draining) or a failed call (NOT_FOUND for a
--service the server does not serve; UNAVAILABLE when nothing listens or the TLS
handshake is refused; DEADLINE_EXCEEDED).
With --alive it asks only whether the process answers: 0 on any status the server
answers (SERVING, NOT_SERVING, ...), 1 only when the call fails. Kubernetes' liveness
and startup probes use it, so a server waiting for its first version, or one whose
downstream cannot load a version, is not restarted; readiness keeps the default.
Docker takes 0 as healthy and 1 as unhealthy, and reserves 2 (argparse still exits 2
on a usage error). One line on stderr says what was found.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from recmesh.rpc.tls import TlsFiles, channel_credentials
from recmesh.rpc.tls_options import add_tls_arguments, tls_from_args

#: The address probed when --address is not given; the image sets it per server
#: (the front's port unless a container says otherwise).
ADDRESS_ENV = "RECMESH_HEALTH_ADDRESS"
DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_TIMEOUT_S = 3.0

HEALTHY, UNHEALTHY = 0, 1


@dataclass(frozen=True)
class HealthProbe:
    """What one health check found: the status the server answered (a ServingStatus
    name), or, when it did not answer, the failed call's code and details."""

    status: str | None
    error: str | None = None

    @property
    def serving(self) -> bool:
        return self.status == "SERVING"

    @property
    def answered(self) -> bool:
        """The server answered the call, whatever its status."""
        return self.status is not None

    def describe(self) -> str:
        return self.status if self.status is not None else f"call failed: {self.error}"


def probe_health(
    address: str,
    service: str = "",
    timeout: float = DEFAULT_TIMEOUT_S,
    tls: TlsFiles | None = None,
) -> HealthProbe:
    """One Check call to the server at address, for `service` ("" is the whole server);
    with tls over mutual TLS, presenting tls.cert. Never raises for an RPC failure: it
    is reported in the result."""
    channel = (
        grpc.insecure_channel(address)
        if tls is None
        else grpc.secure_channel(address, channel_credentials(tls))
    )
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as exc:
            if isinstance(exc, grpc.Call):  # what a failed unary call raises
                return HealthProbe(status=None, error=f"{exc.code().name}: {exc.details()}")
            return HealthProbe(status=None, error=repr(exc))
    return HealthProbe(status=health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recmesh-healthcheck",
        description="Exits 0 when the gRPC server at --address answers health SERVING "
        "(with --alive: answers at all), 1 otherwise.",
    )
    parser.add_argument(
        "--address",
        default=os.environ.get(ADDRESS_ENV, DEFAULT_ADDRESS),
        help=f"host:port of the server (default: ${ADDRESS_ENV}, else {DEFAULT_ADDRESS})",
    )
    parser.add_argument(
        "--service",
        default="",
        help="a service's full name (recmesh.ranking.v1.RankingService); default: the whole server",
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds to wait for the answer"
    )
    parser.add_argument(
        "--alive",
        action="store_true",
        help="exit 0 on any health status the server answers (NOT_SERVING too), 1 only "
        "when the call fails: is the process alive, not is it ready",
    )
    add_tls_arguments(parser, party="this health check (a client of the mesh's CA)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    probe = probe_health(args.address, args.service, args.timeout, tls_from_args(args, parser))
    print(f"recmesh-healthcheck {args.address}: {probe.describe()}", file=sys.stderr)
    healthy = probe.answered if args.alive else probe.serving
    return HEALTHY if healthy else UNHEALTHY


if __name__ == "__main__":
    sys.exit(main())
