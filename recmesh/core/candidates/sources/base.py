"""The candidate source contract: one method, a typed request and a typed result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from recmesh.snapshot.history import UserHistory


@dataclass(frozen=True)
class SourceRequest:
    """One user's request to every source of a pipeline.

    `user_index` is None for a user the snapshot does not know (then `history` is empty).
    `seen[i]` is True iff item i is in `history`; `n` (>= 1) bounds the result length.
    """

    user_index: int | None
    history: UserHistory
    seen: NDArray[np.bool_]
    n: int


@dataclass(frozen=True)
class SourceResult:
    """Up to `n` distinct unseen item indices, best first, with the source's scores.

    Invariants: both arrays have the same length; scores never increase along the list;
    no item is in the request's history.
    """

    item_indices: NDArray[np.int64]
    scores: NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.item_indices.shape[0])


EMPTY_RESULT = SourceResult(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


class CandidateSource(Protocol):
    """Finds candidates for one user.

    `name` is stable: the merger's source label, the log key and the metric label.
    Sources exclude the items the user already consumed (so that their quota is spent on
    new items); the merger removes consumed items again, so a faulty source cannot leak
    them into a response.
    """

    @property
    def name(self) -> str: ...

    def generate(self, request: SourceRequest) -> SourceResult:
        """Up to request.n unseen items, best first; EMPTY_RESULT when it has nothing."""
        ...
