"""Checks a RecommendRequest before any work is done."""

from __future__ import annotations

from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.rpc.errors import InvalidArgumentError
from recmesh.wire.ids import check_user_id
from recmesh.wire.limits import MAX_CONTEXT_CHARACTERS, MAX_CONTEXT_ENTRIES, MAX_K


def validate_request(request: recommend_pb2.RecommendRequest) -> None:
    """Raises InvalidArgumentError with a message the caller can act on."""
    check_user_id(request.user_id)
    if request.k < 1 or request.k > MAX_K:
        raise InvalidArgumentError(f"k must be between 1 and {MAX_K}, got {request.k}")
    if len(request.context) > MAX_CONTEXT_ENTRIES:
        raise InvalidArgumentError(
            f"context has {len(request.context)} entries; at most {MAX_CONTEXT_ENTRIES} allowed"
        )
    size = sum(len(k) + len(v) for k, v in request.context.items())
    if size > MAX_CONTEXT_CHARACTERS:
        raise InvalidArgumentError(
            f"context holds {size} characters; at most {MAX_CONTEXT_CHARACTERS} allowed"
        )
