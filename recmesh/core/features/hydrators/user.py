"""User features: activity, ratings, recency and demographics of the requesting user."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recmesh.core.features.hydrators.base import FeatureBatch
from recmesh.core.features.hydrators.history_means import mean_item_log_count, mean_item_year
from recmesh.snapshot.snapshot import SECONDS_PER_DAY, Snapshot

NAME = "user"

# (feature, its value for a user without history or unknown to the snapshot, meaning)
FEATURES: tuple[tuple[str, str, str], ...] = (
    ("user_n_interactions", "0", "training interactions"),
    ("user_log_n_interactions", "0", "log(1 + interactions)"),
    ("user_mean_rating", "global mean", "mean rating"),
    ("user_rating_std", "0", "population std of the ratings, 0 below two"),
    ("user_days_since_last", "-1", "days from the latest interaction to the snapshot's now"),
    ("user_history_span_days", "0", "days from the first to the latest interaction"),
    ("user_recent_items", "0", "distinct items last consumed in the recent window"),
    ("user_mean_item_log_count", "0", "mean log(1 + count) of the history's items"),
    ("user_mean_item_year", "0", "mean release year of the history's items with a year"),
    ("user_age", "0", "age in years (0 unknown, and for unknown users)"),
    ("user_is_female", "0", "1 if the gender is F"),
    ("user_is_male", "0", "1 if the gender is M"),
    ("user_has_history", "0", "1 if the user has training history"),
)


class UserFeatures:
    """The requesting user's row, repeated for every candidate.

    Every user's row is computed at construction, plus one row of defaults for unknown
    users (see FEATURES); a request costs one row lookup.
    """

    name = NAME
    feature_names = tuple(feature for feature, _, _ in FEATURES)

    def __init__(self, snapshot: Snapshot) -> None:
        self._table = _user_table(snapshot)

    def hydrate(self, batch: FeatureBatch) -> NDArray[np.float32]:
        row = self._table[-1 if batch.user_index is None else batch.user_index]
        return np.broadcast_to(row, (len(batch), row.shape[0]))


def _user_table(snapshot: Snapshot) -> NDArray[np.float32]:
    """One row per user, then the unknown user's row."""
    n_users = snapshot.n_users
    counts = np.append(snapshot.user_counts, 0).astype(np.float64)
    known = counts > 0
    day = float(SECONDS_PER_DAY)
    first = np.append(snapshot.user_first_timestamps, 0).astype(np.float64)
    last = np.append(snapshot.user_last_timestamps, 0).astype(np.float64)
    per_user = np.diff(snapshot.history_indptr)
    window = snapshot.config.recent_window_days * day
    recent = (snapshot.history_timestamps > snapshot.now - window).astype(np.float64)
    recent_items = np.bincount(
        np.repeat(np.arange(n_users), per_user), weights=recent, minlength=n_users
    )
    genders = np.array((*snapshot.user_genders, ""), dtype=np.str_)
    columns = [
        counts,
        np.log1p(counts),
        np.where(known, np.append(snapshot.user_mean_ratings, 0), snapshot.global_mean_rating),
        np.append(snapshot.user_rating_stds, 0),
        np.where(known, (snapshot.now - last) / day, -1.0),
        np.where(known, (last - first) / day, 0.0),
        np.append(recent_items, 0),
        np.append(mean_item_log_count(snapshot), 0),
        np.append(mean_item_year(snapshot), 0),
        np.append(snapshot.user_ages, 0),
        genders == "F",
        genders == "M",
        known,
    ]
    table = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
    frozen = np.ascontiguousarray(table, dtype=np.float32).reshape(n_users + 1, len(FEATURES))
    frozen.flags.writeable = False
    return frozen
