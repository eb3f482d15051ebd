"""Candidates and their feature rows for many users, through the serving components.

Training and offline evaluation both call the serving candidate pipeline and the
serving feature pipeline over a snapshot, so what a model learns from is exactly
what it scores when it serves (no training/serving skew).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recmesh.console.progress import NullProgress, Progress
from recmesh.core.candidates.merger import CandidateList
from recmesh.core.candidates.pipeline import build_candidate_pipeline
from recmesh.core.features.pipeline import FeatureMatrix, UserCandidates, build_feature_pipeline
from recmesh.snapshot.snapshot import Snapshot


@dataclass(frozen=True)
class CandidateGroups:
    """One group per user: `lists[g]` are the candidates of `users[g]` (snapshot item
    indices, merged order) and `features` stacks their feature rows in the same order.
    `feature_names` is the serving feature schema, `schema_fingerprint` its fingerprint."""

    users: NDArray[np.int64]
    lists: tuple[CandidateList, ...]
    features: FeatureMatrix
    feature_names: tuple[str, ...]
    schema_fingerprint: str

    def rows(self, group: int) -> NDArray[np.float32]:
        """The feature rows of one group."""
        start, stop = self.features.offsets[group], self.features.offsets[group + 1]
        return self.features.matrix[start:stop]


def candidate_groups(
    snapshot: Snapshot,
    users: NDArray[np.int64],
    n: int,
    progress: Progress | None = None,
    label: str = "candidates and features",
) -> CandidateGroups:
    """Up to n candidates per user and their feature rows, users in the given order."""
    progress = progress or NullProgress()
    candidates = build_candidate_pipeline(snapshot)
    features = build_feature_pipeline(snapshot)
    progress.start(int(users.shape[0]), label, "users")
    lists: list[CandidateList] = []
    try:
        for user in users.tolist():
            lists.append(candidates.generate(int(user), n))
            progress.advance()
        matrix = features.compute_batch(
            [
                UserCandidates(
                    user_id=int(user),
                    item_indices=c.item_indices,
                    source_indices=c.source_indices,
                    source_scores=c.source_scores,
                    sources=c.sources,
                )
                for user, c in zip(users.tolist(), lists, strict=True)
            ]
        )
    except BaseException:
        progress.finish("failed")
        raise
    progress.finish()
    return CandidateGroups(
        users=users.astype(np.int64),
        lists=tuple(lists),
        features=matrix,
        feature_names=features.schema.names,
        schema_fingerprint=features.schema.fingerprint,
    )
