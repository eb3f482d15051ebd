"""A client channel to one downstream replica: health-checked, plaintext or mutual TLS.

Each replica gets its own channel (`services/common/downstream.py` spreads calls over
them and keeps a breaker per replica), so a channel has one address."""

from __future__ import annotations

import json

import grpc

from recmesh.rpc.tls import TlsFiles, channel_credentials
from recmesh.wire.limits import MAX_MESSAGE_BYTES

# Health checking makes a call to a replica that is NOT_SERVING (still loading its first
# version after a restart, or draining) fail at once instead of waiting for the load;
# round_robin runs the health check, hence that policy even over a single address.
# Retries are not the channel's: `services.common.downstream` tries a call that failed
# in transport once more on another replica, and must not repeat a deliberate
# UNAVAILABLE (ranking's FEATURES_UNAVAILABLE) on the same one. See docs/reliability.md.
_SERVICE_CONFIG = json.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
        "healthCheckConfig": {"serviceName": ""},
    }
)


def downstream_channel(
    address: str, tls: TlsFiles | None = None, tls_name: str | None = None
) -> grpc.aio.Channel:
    """A health-checked channel to one replica (host:port): plaintext, or with tls mutual
    TLS (this process's certificate, the replica's checked against tls.ca and its host,
    or tls_name when given: the name a replica's IP address was resolved from).
    Calls are traced by the stubs (traced_stub)."""
    options = [
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.enable_retries", 0),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        # Reconnect fast after a replica restarts.
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
    ]
    if tls is None:
        return grpc.aio.insecure_channel(address, options=options)
    if tls_name is not None:
        options.append(("grpc.ssl_target_name_override", tls_name))
    return grpc.aio.secure_channel(address, channel_credentials(tls), options=options)
