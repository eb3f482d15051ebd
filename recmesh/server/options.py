"""The channel options every server is built with."""

from __future__ import annotations

from recmesh.wire.limits import MAX_MESSAGE_BYTES

__all__ = ["MAX_MESSAGE_BYTES", "server_options"]


def server_options() -> list[tuple[str, int]]:
    """Messages up to MAX_MESSAGE_BYTES either way; no SO_REUSEPORT, so a second server
    on a port in use fails to bind instead of sharing it."""
    return [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.so_reuseport", 0),
    ]
