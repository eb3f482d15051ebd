"""Every server's options: 16 MiB messages either way, no shared ports."""

from __future__ import annotations

from recmesh.server.options import MAX_MESSAGE_BYTES, server_options


def test_server_options() -> None:
    assert MAX_MESSAGE_BYTES == 16 * 1024 * 1024
    assert dict(server_options()) == {
        "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
        "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
        "grpc.so_reuseport": 0,
    }
