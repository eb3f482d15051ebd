"""Client channels to downstream services: round-robin over healthy replicas, plaintext
or mutual TLS."""

from __future__ import annotations

import json
from collections.abc import Sequence

import grpc

from recmesh.rpc.tls import TlsFiles, channel_credentials, shared_host


def target_for(addresses: Sequence[str]) -> str:
    """A gRPC target that spreads calls over every replica address (host:port)."""
    if not addresses:
        raise ValueError("at least one address is needed")
    if len(addresses) == 1:
        return addresses[0]
    return "ipv4:" + ",".join(addresses)


# Health checking keeps round robin off a replica that is NOT_SERVING (still loading its
# first version after a restart, or draining), so a call to it fails at once instead of
# waiting for the load. Retries are not the channel's: `services.common.downstream` tries
# a call that failed in transport once more on another replica, and must not repeat
# a deliberate UNAVAILABLE (ranking's FEATURES_UNAVAILABLE) on the same one.
# See docs/reliability.md.
_SERVICE_CONFIG = json.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
        "healthCheckConfig": {"serviceName": ""},
    }
)


def downstream_channel(addresses: Sequence[str], tls: TlsFiles | None = None) -> grpc.aio.Channel:
    """A channel with client-side round-robin over healthy replicas: plaintext, or with
    tls mutual TLS (this process's certificate, the replicas' checked against tls.ca
    and their host). Calls are traced by the stubs (traced_stub)."""
    options = [
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.enable_retries", 0),
        ("grpc.max_receive_message_length", 16 * 1024 * 1024),
        # Reconnect fast after a replica restarts.
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
    ]
    if tls is None:
        return grpc.aio.insecure_channel(target_for(addresses), options=options)
    if len(addresses) > 1:
        # An `ipv4:a,b` target names no host for the certificate check; the authority
        # is the replicas' shared host (127.0.0.1 on loopback), which their certificates
        # name, so the hostname is still checked, not overridden.
        options.append(("grpc.default_authority", shared_host(addresses)))
    return grpc.aio.secure_channel(target_for(addresses), channel_credentials(tls), options=options)
