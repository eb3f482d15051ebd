"""One arm's top-k lists on the held-out users, made the way serving makes them.

An arm is a serving version seen offline: a snapshot of the TRAIN split built with
the version's own snapshot settings, the serving candidate pipeline over it, and
either its ranking model over the serving feature matrix or, for a baseline, the
candidates in source order. Candidates exclude each user's training items, so the
lists never recommend a seen item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.topk import PAD, TopK
from offline.training.groups import CandidateGroups, candidate_groups
from recmesh.console.progress import Progress
from recmesh.core.ranking.model import RankingModel, top_k_positions
from recmesh.snapshot.snapshot import Snapshot
from recmesh.wire.limits import DEFAULT_CANDIDATES

#: Serving asks the candidate service for this many candidates per user.
SERVING_CANDIDATES = DEFAULT_CANDIDATES


@dataclass(frozen=True)
class Arm:
    """`name` is "champion" or "challenger"; `model` None ranks by source order."""

    name: str
    version: str
    snapshot: Snapshot
    model: RankingModel | None


@dataclass(frozen=True)
class ArmLists:
    """The arm's lists (item ids, best first) and the candidate groups they came from."""

    arm: Arm
    topk: TopK
    groups: CandidateGroups


def run_arm(
    arm: Arm, users: NDArray[np.int64], k: int, progress: Progress, n: int = SERVING_CANDIDATES
) -> ArmLists:
    """Top k of each user's n candidates, users in the given order (sorted, distinct)."""
    groups = candidate_groups(arm.snapshot, users, n, progress, label=f"evaluating the {arm.name}")
    return ArmLists(arm=arm, topk=top_k_lists(arm, groups, k), groups=groups)


def top_k_lists(arm: Arm, groups: CandidateGroups, k: int) -> TopK:
    """The arm's top k of each group of candidates (made over the arm's snapshot), by its
    model's scores or, without a model, in source order."""
    users = groups.users
    items = np.full((users.shape[0], k), PAD, dtype=np.int64)
    scores = np.full((users.shape[0], k), -np.inf, dtype=np.float32)
    all_scores = None if arm.model is None else arm.model.score(groups.features.matrix)
    offsets = groups.features.offsets
    for g, candidates in enumerate(groups.lists):
        size = len(candidates)
        if size == 0:
            continue
        if all_scores is None:
            # Source order: the merged list as it is, scored by descending rank.
            group_scores = np.arange(size, 0, -1, dtype=np.float32)
        else:
            group_scores = all_scores[offsets[g] : offsets[g + 1]]
        top = top_k_positions(group_scores, k)
        items[g, : top.shape[0]] = arm.snapshot.item_ids[candidates.item_indices[top]]
        scores[g, : top.shape[0]] = group_scores[top]
    return TopK(users=users.astype(np.int64), items=items, scores=scores)
