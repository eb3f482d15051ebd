"""One recommender's lists evaluated against a test set: every metric, per user and overall."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from offline.metrics.accuracy import accuracy_per_user
from offline.metrics.beyond import (
    ItemPopularity,
    catalogue_coverage,
    diversity_per_list,
    novelty,
    novelty_per_list,
    popularity_per_list,
)
from offline.metrics.per_user import PerUserMetrics
from offline.metrics.relevance import missing_users
from offline.topk import TopK
from recmesh.data.dataset import Interactions, ItemCatalog

NOVELTY = "novelty"
DIVERSITY = "diversity"
POPULARITY = "popularity"
COVERAGE = "coverage"


@dataclass(frozen=True)
class Evaluation:
    """Every metric of one set of lists at cutoff `k`.

    `per_user` holds the accuracy metrics (see `accuracy_names`) and the
    per-list "novelty", "diversity" and "popularity", over the users with both
    a list and test rows. `overall` holds the mean of each per-user metric plus
    "coverage" (over all lists) and "novelty" as Microsoft aggregates it (over
    all recommended slots of the evaluated users). `missing_users` are test
    users without a list; they are in no mean, so a caller comparing two
    recommenders should check that neither leaves users out.
    """

    k: int
    per_user: PerUserMetrics
    overall: Mapping[str, float]
    missing_users: NDArray[np.int64]


class PerUserEvaluator(Protocol):
    """Computes `evaluate(topk, test, train, catalog, k).per_user`: the same users, the
    same arrays (in this process, or split across a cluster's workers)."""

    def __call__(
        self, topk: TopK, test: Interactions, train: Interactions, catalog: ItemCatalog, k: int
    ) -> PerUserMetrics: ...


def evaluate(
    topk: TopK, test: Interactions, train: Interactions, catalog: ItemCatalog, k: int
) -> Evaluation:
    """Evaluates `topk` at cutoff k; `train` gives popularity, `catalog` genres and size."""
    popularity = ItemPopularity.of(train)
    per_user = per_user_metrics(topk, test, popularity, catalog, k)
    evaluated = topk.restrict(per_user.users)
    overall = per_user.means()
    overall[NOVELTY] = novelty(evaluated, popularity, k)
    overall[COVERAGE] = catalogue_coverage(topk, catalog.item_ids.shape[0], k)
    return Evaluation(
        k=k, per_user=per_user, overall=overall, missing_users=missing_users(topk, test)
    )


def evaluate_per_user(
    topk: TopK, test: Interactions, train: Interactions, catalog: ItemCatalog, k: int
) -> PerUserMetrics:
    """`evaluate(...).per_user`, computed in this process (a `PerUserEvaluator`)."""
    return per_user_metrics(topk, test, ItemPopularity.of(train), catalog, k)


def per_user_metrics(
    topk: TopK, test: Interactions, popularity: ItemPopularity, catalog: ItemCatalog, k: int
) -> PerUserMetrics:
    """Every per-user metric of the users with both a list and test rows. Each user's
    values depend on that user's list and test rows only (and on `popularity` and
    `catalog`, which are the whole TRAIN split's and catalogue's), so any partition of the
    users gives the same values."""
    accuracy = accuracy_per_user(topk, test, k)
    evaluated = topk.restrict(accuracy.users)
    beyond = PerUserMetrics(
        users=accuracy.users,
        values={
            NOVELTY: novelty_per_list(evaluated, popularity, k),
            DIVERSITY: diversity_per_list(evaluated, catalog, k),
            POPULARITY: popularity_per_list(evaluated, popularity, k),
        },
    )
    return accuracy.merged(beyond)
