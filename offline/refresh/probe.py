"""The refresh probe: the serving model's NDCG@k on a fixed set of users, per dataset.

The probe users are drawn once, with the policy's seed, among the reference
data's users with at least `MIN_HISTORY` interactions, so both datasets are
probed on the same people. For each dataset, each probe user's latest
`holdout_fraction` of interactions (at least one) is held out, a snapshot with
the serving version's settings is built from the rest, and the model ranks
each probe user's serving candidates, as serving does. The probe tells whether
the model still works as well on the new data as on the data it served with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.experiment.arms import Arm, run_arm
from offline.metrics.accuracy import ndcg_at_k
from offline.metrics.relevance import relevance
from offline.refresh.errors import RefreshError
from recmesh.console.progress import Progress
from recmesh.core.ranking.model import RankingModel
from recmesh.data.dataset import Dataset, Interactions
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.config import SnapshotConfig

MIN_HISTORY = 5


@dataclass(frozen=True)
class ProbeSettings:
    k: int
    users: int
    holdout_fraction: float
    seed: int


def probe_users(dataset: Dataset, settings: ProbeSettings) -> NDArray[np.int64]:
    """`settings.users` users with enough history, drawn with the seed, sorted."""
    ids, counts = np.unique(dataset.interactions.users, return_counts=True)
    eligible = ids[counts >= MIN_HISTORY]
    if eligible.shape[0] == 0:
        raise RefreshError(f"no user has {MIN_HISTORY} interactions to probe with")
    size = min(settings.users, int(eligible.shape[0]))
    drawn = np.random.default_rng(settings.seed).choice(eligible, size, replace=False)
    users: NDArray[np.int64] = np.sort(drawn).astype(np.int64)
    return users


def probe_value(
    dataset: Dataset,
    users: NDArray[np.int64],
    config: SnapshotConfig,
    model: RankingModel | None,
    settings: ProbeSettings,
    progress: Progress,
    label: str,
) -> float:
    """Mean NDCG@k of the model over the probe users' held-out latest interactions."""
    train, test = _hold_out_latest(dataset.interactions, users, settings.holdout_fraction)
    progress.start(None, f"probe: building the snapshot of the {label} data")
    snapshot = build_snapshot(dataset, train, config)
    progress.finish()
    arm = Arm(label, label, snapshot, model)
    lists = run_arm(arm, users, settings.k, progress)
    per_user = ndcg_at_k(relevance(lists.topk, test, settings.k))
    return float(per_user.mean()) if per_user.shape[0] else 0.0


def _hold_out_latest(
    interactions: Interactions, users: NDArray[np.int64], fraction: float
) -> tuple[Interactions, Interactions]:
    """(train, test): each probe user's latest ceil(fraction * n) rows go to test."""
    order = np.lexsort((np.arange(len(interactions)), interactions.timestamps, interactions.users))
    sorted_users = interactions.users[order]
    probe = np.isin(sorted_users, users)
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    lengths = np.diff(np.r_[starts, sorted_users.shape[0]])
    rank_from_end = np.repeat(starts + lengths, lengths) - np.arange(sorted_users.shape[0])
    held = np.repeat(np.maximum(1, np.ceil(lengths * fraction).astype(np.int64)), lengths)
    test_sorted = probe & (rank_from_end <= held)
    test = np.zeros(len(interactions), dtype=bool)
    test[order[test_sorted]] = True
    return interactions.select(~test), interactions.select(test)
