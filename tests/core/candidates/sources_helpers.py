"""Builds SourceRequests for the source tests (a helper, not a test module)."""

from __future__ import annotations

from recmesh.core.candidates.sources.base import SourceRequest
from recmesh.snapshot.history import seen_mask, user_history
from recmesh.snapshot.snapshot import Snapshot


def request_for(snapshot: Snapshot, user_id: int, n: int = 10) -> SourceRequest:
    user_index = snapshot.user_index(user_id)
    history = user_history(snapshot, user_index)
    return SourceRequest(user_index, history, seen_mask(snapshot, history), n)
