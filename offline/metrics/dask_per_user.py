"""Per-user metrics computed by a Dask cluster's workers, chunk of users by chunk.

Each user's metrics depend on their own list and test rows only (and on the TRAIN
split's item popularity and the catalogue, sent once to every worker), so the users are
cut into sorted chunks, each worker computes `per_user_metrics` of its chunks, and the
chunks' arrays are joined in user order: the same users and the same values, to the
bit, as `evaluate_per_user` in one process. The bootstrap then resamples them as usual.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from distributed import Client

from offline.metrics.beyond import ItemPopularity
from offline.metrics.evaluate import per_user_metrics
from offline.metrics.per_user import PerUserMetrics
from offline.topk import TopK
from recmesh.data.dataset import Interactions, ItemCatalog


@dataclass(frozen=True)
class DaskPerUser:
    """A `PerUserEvaluator` that splits the users into `chunks` parts for `client`'s
    workers (use a few per worker, so that a slow worker is not waited on for long)."""

    client: Client
    chunks: int

    def __call__(
        self, topk: TopK, test: Interactions, train: Interactions, catalog: ItemCatalog, k: int
    ) -> PerUserMetrics:
        popularity = ItemPopularity.of(train)
        users = np.intersect1d(topk.users, np.unique(test.users))
        parts = [part for part in np.array_split(users, max(1, self.chunks)) if part.shape[0]]
        if not parts:
            return per_user_metrics(topk, test, popularity, catalog, k)
        shared_popularity, shared_catalog = self.client.scatter(
            [popularity, catalog], broadcast=True, hash=False
        )
        futures = [
            self.client.submit(
                per_user_metrics,
                topk.restrict(part),
                test.select(np.isin(test.users, part)),
                shared_popularity,
                shared_catalog,
                k,
                pure=False,
            )
            for part in parts
        ]
        results: list[PerUserMetrics] = self.client.gather(futures)
        return joined(results)


def joined(parts: list[PerUserMetrics]) -> PerUserMetrics:
    """The metrics of consecutive chunks of sorted users as one (the chunks in order)."""
    names = parts[0].names
    return PerUserMetrics(
        users=np.concatenate([p.users for p in parts]).astype(np.int64),
        values={name: np.concatenate([p.values[name] for p in parts]) for name in names},
    )
