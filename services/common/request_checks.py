"""Checks every downstream serving RPC applies to the fields the front fills in."""

from __future__ import annotations

from recmesh.rpc.errors import InvalidArgumentError
from recmesh.wire.limits import MAX_USER_ID_LENGTH


def check_user_and_version(user_id: str, serving_version: str) -> None:
    """Raises InvalidArgumentError unless user_id has 1 to 128 characters and
    serving_version is set (the front resolves it once per request)."""
    if not user_id or len(user_id) > MAX_USER_ID_LENGTH:
        raise InvalidArgumentError(f"user_id must have 1 to {MAX_USER_ID_LENGTH} characters")
    if not serving_version:
        raise InvalidArgumentError("serving_version is empty; the front resolves it")
