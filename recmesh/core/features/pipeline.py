"""The feature pipeline: ordered hydrators filling one float32 matrix, built in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recmesh.core.features.errors import FeatureContractError, InvalidCandidatesError
from recmesh.core.features.hydrators.base import FeatureBatch, FeatureHydrator
from recmesh.core.features.hydrators.item import ItemFeatures
from recmesh.core.features.hydrators.source import DEFAULT_SOURCE_NAMES, SourceFeatures
from recmesh.core.features.hydrators.user import UserFeatures
from recmesh.core.features.hydrators.user_item import UserItemFeatures
from recmesh.core.features.schema import FeatureSchema
from recmesh.snapshot.history import user_history
from recmesh.snapshot.snapshot import Snapshot


@dataclass(frozen=True)
class FeaturePipelineConfig:
    """`source_names`: the candidate sources that get a one-hot column, in order."""

    source_names: tuple[str, ...] = DEFAULT_SOURCE_NAMES


@dataclass(frozen=True)
class UserCandidates:
    """One user's candidates for `FeaturePipeline.compute_batch` (the trainer's input)."""

    user_id: str | int
    item_indices: NDArray[np.int64]
    source_indices: NDArray[np.uint8]
    source_scores: NDArray[np.float32]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class FeatureMatrix:
    """Feature rows of many users' candidates stacked: user g's rows are
    `matrix[offsets[g]:offsets[g + 1]]`, in that user's candidate order."""

    matrix: NDArray[np.float32]
    offsets: NDArray[np.int64]

    @property
    def group_sizes(self) -> NDArray[np.int64]:
        """Candidates per user, the `group` argument of a learning-to-rank fit."""
        sizes: NDArray[np.int64] = np.diff(self.offsets)
        return sizes


class FeaturePipeline:
    """Runs the hydrators in order, each filling its columns of one preallocated
    C-contiguous float32 matrix (rows: candidates in input order; columns: `schema`).

    Invariants of every returned matrix: one row per input candidate, in input order,
    no NaN or infinity. Candidate arrays are checked first (InvalidCandidatesError, an
    InvalidArgumentError); a hydrator that breaks its contract raises
    FeatureContractError. Keeps no per-call state, so threads may share one instance.
    """

    def __init__(self, snapshot: Snapshot, hydrators: Sequence[FeatureHydrator]) -> None:
        self._snapshot = snapshot
        self._hydrators = tuple(hydrators)
        self.schema = FeatureSchema(tuple(f for h in self._hydrators for f in h.feature_names))
        bounds = np.cumsum([0, *(len(h.feature_names) for h in self._hydrators)])
        self._columns = tuple(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))

    def compute(
        self,
        user_id: str | int,
        item_indices: NDArray[np.int64],
        source_indices: NDArray[np.uint8],
        source_scores: NDArray[np.float32],
        sources: tuple[str, ...],
    ) -> NDArray[np.float32]:
        """The (len(item_indices), len(schema)) feature matrix of one user's candidates.

        `item_indices` are snapshot item indices (`Snapshot.item_indices_of` maps ids;
        its -1 for an unknown id is refused here as InvalidCandidatesError). An unknown
        user id gets the documented defaults of every user-side feature.
        """
        candidates = UserCandidates(user_id, item_indices, source_indices, source_scores, sources)
        out = np.empty((_length(candidates), len(self.schema)), dtype=np.float32)
        self._compute_into(out, candidates)
        return out

    def compute_batch(self, groups: Sequence[UserCandidates]) -> FeatureMatrix:
        """Every group's rows written into one matrix (a loop of `compute` without copies)."""
        sizes = np.array([_length(g) for g in groups], dtype=np.int64)
        offsets = np.zeros(len(groups) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        matrix = np.empty((int(offsets[-1]), len(self.schema)), dtype=np.float32)
        for group, start, stop in zip(groups, offsets[:-1], offsets[1:], strict=True):
            self._compute_into(matrix[start:stop], group)
        return FeatureMatrix(matrix=matrix, offsets=offsets)

    def _compute_into(self, out: NDArray[np.float32], candidates: UserCandidates) -> None:
        batch = self._batch(candidates)
        n = len(batch)
        for hydrator, (start, stop) in zip(self._hydrators, self._columns, strict=True):
            block = hydrator.hydrate(batch)
            if block.shape != (n, stop - start):
                raise FeatureContractError(
                    f"hydrator {hydrator.name!r} returned shape {block.shape}, "
                    f"expected {(n, stop - start)}"
                )
            out[:, start:stop] = block
        if not np.isfinite(out).all():
            rows, cols = np.nonzero(~np.isfinite(out))
            raise FeatureContractError(
                f"feature {self.schema.names[int(cols[0])]!r} is not finite "
                f"for candidate {int(rows[0])}"
            )

    def check(self, candidates: UserCandidates) -> None:
        """Raises the InvalidCandidatesError `compute` would raise for these candidates,
        so a batch caller can answer a bad group alone before `compute_batch`."""
        self._checked_arrays(candidates)

    def _checked_arrays(
        self, candidates: UserCandidates
    ) -> tuple[NDArray[np.int64], NDArray[np.uint8], NDArray[np.float32]]:
        items = np.asarray(candidates.item_indices, dtype=np.int64)
        source_indices = np.asarray(candidates.source_indices, dtype=np.uint8)
        scores = np.asarray(candidates.source_scores, dtype=np.float32)
        n = items.shape[0]
        if items.ndim != 1 or source_indices.shape != (n,) or scores.shape != (n,):
            raise InvalidCandidatesError(
                f"candidate arrays disagree: {items.shape} items, "
                f"{source_indices.shape} source indices, {scores.shape} scores"
            )
        if n and (int(items.min()) < 0 or int(items.max()) >= self._snapshot.n_items):
            raise InvalidCandidatesError("a candidate item is not in the snapshot's catalogue")
        if n and int(source_indices.max()) >= len(candidates.sources):
            raise InvalidCandidatesError("a candidate's source index names no source")
        if not np.isfinite(scores).all():
            raise InvalidCandidatesError("candidate source scores must be finite")
        return items, source_indices, scores

    def _batch(self, candidates: UserCandidates) -> FeatureBatch:
        items, source_indices, scores = self._checked_arrays(candidates)
        user_index = self._snapshot.user_index(candidates.user_id)
        return FeatureBatch(
            user_index=user_index,
            history=user_history(self._snapshot, user_index),
            item_indices=items,
            source_indices=source_indices,
            source_scores=scores,
            sources=candidates.sources,
        )


def _length(candidates: UserCandidates) -> int:
    return int(np.asarray(candidates.item_indices).shape[0])


def build_feature_pipeline(
    snapshot: Snapshot, config: FeaturePipelineConfig | None = None
) -> FeaturePipeline:
    """The serving feature pipeline; the one place its hydrators and their order are set.

    The order fixes the column order, hence the schema fingerprint a model is trained
    against: user, item, user x item, source. Reordering is a schema change.
    """
    config = config or FeaturePipelineConfig()
    hydrators: tuple[FeatureHydrator, ...] = (
        UserFeatures(snapshot),
        ItemFeatures(snapshot),
        UserItemFeatures(snapshot),
        SourceFeatures(config.source_names),
    )
    return FeaturePipeline(snapshot, hydrators)
