"""Client channels to downstream services: round-robin over healthy replicas."""

from __future__ import annotations

import json
from collections.abc import Sequence

import grpc


def target_for(addresses: Sequence[str]) -> str:
    """A gRPC target that spreads calls over every replica address (host:port)."""
    if not addresses:
        raise ValueError("at least one address is needed")
    if len(addresses) == 1:
        return addresses[0]
    return "ipv4:" + ",".join(addresses)


# Every downstream call (GetCandidates, Rank, GetFeatures) is a read, so one retry is safe.
# Health checking keeps round robin off a replica that is NOT_SERVING (still loading its
# first version after a restart, or draining); the retry moves a call that failed on a
# replica that just died to another one. See docs/reliability.md.
_SERVICE_CONFIG = json.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
        "healthCheckConfig": {"serviceName": ""},
        # Retries stop while most calls fail (a whole service down), so they never pile
        # load on a struggling mesh.
        "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 2,
                    "initialBackoff": "0.01s",
                    "maxBackoff": "0.05s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
)


def downstream_channel(addresses: Sequence[str]) -> grpc.aio.Channel:
    """An insecure loopback channel with client-side round-robin over healthy replicas
    and one retry of UNAVAILABLE. Calls are traced by the stubs (traced_stub)."""
    options = [
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.enable_retries", 1),
        ("grpc.max_receive_message_length", 16 * 1024 * 1024),
        # Reconnect fast after a replica restarts.
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
    ]
    return grpc.aio.insecure_channel(
        target_for(addresses),
        options=options,
    )
