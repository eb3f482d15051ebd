"""One recommender's lists evaluated against a test set: every metric, per user and overall."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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


def evaluate(
    topk: TopK, test: Interactions, train: Interactions, catalog: ItemCatalog, k: int
) -> Evaluation:
    """Evaluates `topk` at cutoff k; `train` gives popularity, `catalog` genres and size."""
    accuracy = accuracy_per_user(topk, test, k)
    evaluated = topk.restrict(accuracy.users)
    popularity = ItemPopularity.of(train)
    beyond = PerUserMetrics(
        users=accuracy.users,
        values={
            NOVELTY: novelty_per_list(evaluated, popularity, k),
            DIVERSITY: diversity_per_list(evaluated, catalog, k),
            POPULARITY: popularity_per_list(evaluated, popularity, k),
        },
    )
    per_user = accuracy.merged(beyond)
    overall = per_user.means()
    overall[NOVELTY] = novelty(evaluated, popularity, k)
    overall[COVERAGE] = catalogue_coverage(topk, catalog.item_ids.shape[0], k)
    return Evaluation(
        k=k, per_user=per_user, overall=overall, missing_users=missing_users(topk, test)
    )

