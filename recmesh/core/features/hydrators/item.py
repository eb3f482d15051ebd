"""Item features: popularity, ratings, age, recency and trend of each candidate item."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from recmesh.core.features.hydrators.base import FeatureBatch
from recmesh.snapshot.snapshot import SECONDS_PER_DAY, Snapshot

NAME = "item"

# Pseudo-ratings at the global mean added to every item's ratings for the shrunk mean.
RATING_PRIOR_WEIGHT = 10.0

# (feature, its value for an item nobody interacted with, meaning)
FEATURES: tuple[tuple[str, str, str], ...] = (
    ("item_n_interactions", "0", "training interactions"),
    ("item_log_n_interactions", "0", "log(1 + interactions)"),
    ("item_mean_rating", "global mean", "mean rating"),
    ("item_rating_std", "0", "population std of the ratings, 0 below two"),
    ("item_shrunk_mean_rating", "global mean", "mean rating shrunk toward the global mean"),
    ("item_days_since_first", "-1", "days from the first interaction to the snapshot's now"),
    ("item_days_since_last", "-1", "days from the latest interaction to the snapshot's now"),
    ("item_release_year", "0", "release year (0 unknown)"),
    ("item_age_years", "0", "year of the snapshot's now minus the release year (0 unknown)"),
    ("item_recent_count", "0", "interactions in the recent window"),
    ("item_trend", "0", "log(1 + recent count) - log(1 + count in the window before)"),
    ("item_log_popularity", "0", "log(1 + time-decayed popularity)"),
    ("item_popularity_percentile", "0", "share of catalogue items with fewer interactions"),
    ("item_n_genres", "-", "number of genres"),
)


class ItemFeatures:
    """Each candidate's item row; every item row is computed at construction."""

    name = NAME
    feature_names = tuple(feature for feature, _, _ in FEATURES)

    def __init__(self, snapshot: Snapshot) -> None:
        self._table = _item_table(snapshot)

    def hydrate(self, batch: FeatureBatch) -> NDArray[np.float32]:
        return self._table[batch.item_indices]


def _item_table(snapshot: Snapshot) -> NDArray[np.float32]:
    counts = snapshot.item_counts.astype(np.float64)
    seen = counts > 0
    day = float(SECONDS_PER_DAY)
    now = float(snapshot.now)
    global_mean = snapshot.global_mean_rating
    means = np.where(seen, snapshot.item_mean_ratings, global_mean)
    shrunk = (counts * means + RATING_PRIOR_WEIGHT * global_mean) / (counts + RATING_PRIOR_WEIGHT)
    years = snapshot.item_years.astype(np.float64)
    now_year = datetime.fromtimestamp(snapshot.now, tz=UTC).year
    recent = snapshot.item_recent_counts.astype(np.float64)
    prior = snapshot.item_prior_counts.astype(np.float64)
    fewer = np.searchsorted(np.sort(counts), counts, side="left") / max(snapshot.n_items, 1)
    columns = [
        counts,
        np.log1p(counts),
        means,
        snapshot.item_rating_stds,
        shrunk,
        np.where(seen, (now - snapshot.item_first_timestamps) / day, -1.0),
        np.where(seen, (now - snapshot.item_last_timestamps) / day, -1.0),
        years,
        np.where(years > 0, now_year - years, 0.0),
        recent,
        np.log1p(recent) - np.log1p(prior),
        np.log1p(snapshot.popularity),
        fewer,
        snapshot.item_genres.sum(axis=1),
    ]
    table = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
    frozen = np.ascontiguousarray(table, dtype=np.float32).reshape(snapshot.n_items, len(FEATURES))
    frozen.flags.writeable = False
    return frozen
