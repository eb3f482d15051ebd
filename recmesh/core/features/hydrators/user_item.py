"""Cross features: how each candidate relates to the requesting user's history and taste."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recmesh.core.features.hydrators.base import FeatureBatch
from recmesh.core.features.hydrators.history_means import mean_item_log_count, mean_item_year
from recmesh.snapshot.history import neighbour_edges
from recmesh.snapshot.snapshot import Snapshot

NAME = "user_item"

# (feature, its value for an unknown user or one without history, meaning)
FEATURES: tuple[tuple[str, str, str], ...] = (
    ("cross_genre_cosine", "0", "cosine of the user's genre profile and the item's genres"),
    ("cross_sar_score", "0", "sum over history h of affinity(h) * similarity(h, item)"),
    ("cross_max_similarity", "0", "largest similarity(h, item) over the history"),
    ("cross_mean_similarity", "0", "mean similarity(h, item) over the history (0 if unlisted)"),
    ("cross_history_neighbours", "0", "history items listing the item as a neighbour"),
    ("cross_user_minus_item_rating", "global - item mean", "user mean - item mean rating"),
    ("cross_item_year_minus_user_year", "0", "item year - user's mean year (0 if unknown)"),
    ("cross_item_minus_user_log_count", "item log count", "item log count - user's mean"),
    ("cross_latent_score", "0", "user factors . item factors (the snapshot's truncated SVD)"),
    ("cross_latent_share", "0", "latent score / the largest of the candidates' (0 if <= 0)"),
)
(
    _GENRE,
    _SAR,
    _MAX_SIMILARITY,
    _MEAN_SIMILARITY,
    _NEIGHBOURS,
    _RATING_DIFF,
    _YEAR_DIFF,
    _LOG_COUNT_DIFF,
    _LATENT,
    _LATENT_SHARE,
) = range(len(FEATURES))


class UserItemFeatures:
    """Per candidate: genre match, neighbourhood similarity to the history, SAR score,
    differences between the item's and the user's typical rating, year and popularity,
    and the latent-factor score, raw and relative to the list's best (the raw score grows
    with the history, the share does not)."""

    name = NAME
    feature_names = tuple(feature for feature, _, _ in FEATURES)

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        genres = snapshot.item_genres.astype(np.float32)
        norms = np.linalg.norm(genres, axis=1, keepdims=True)
        unit_genres = np.divide(genres, norms, out=np.zeros_like(genres), where=norms > 0)
        item_means = np.where(
            snapshot.item_counts > 0, snapshot.item_mean_ratings, snapshot.global_mean_rating
        )
        # One row per item (mean rating, release year, log(1 + count), unit genre vector,
        # latent factors), so that a request gathers each candidate's item data in one
        # cache-friendly pass.
        self._item_rows = np.ascontiguousarray(
            np.column_stack(
                (
                    item_means,
                    snapshot.item_years,
                    np.log1p(snapshot.item_counts),
                    unit_genres,
                    snapshot.item_factors,
                )
            ),
            dtype=np.float32,
        )
        self._factors_from = 3 + unit_genres.shape[1]
        self._user_years = mean_item_year(snapshot).astype(np.float32)
        self._user_log_counts = mean_item_log_count(snapshot).astype(np.float32)

    def hydrate(self, batch: FeatureBatch) -> NDArray[np.float32]:
        snapshot = self._snapshot
        out = np.zeros((len(batch), len(FEATURES)), dtype=np.float32)
        rows = self._item_rows[batch.item_indices]
        item_means, item_years, item_log_counts = rows[:, 0], rows[:, 1], rows[:, 2]
        user = batch.user_index
        if user is None or len(batch.history) == 0:
            out[:, _RATING_DIFF] = snapshot.global_mean_rating - item_means
            out[:, _LOG_COUNT_DIFF] = item_log_counts
            return out
        out[:, _GENRE] = rows[:, 3 : self._factors_from] @ snapshot.user_genre_profiles[user]
        latent = rows[:, self._factors_from :] @ snapshot.user_factors[user]
        out[:, _LATENT] = latent
        best = latent.max(initial=0.0)
        if best > 0:
            out[:, _LATENT_SHARE] = latent / best
        self._neighbourhood(batch, out)
        out[:, _RATING_DIFF] = snapshot.user_mean_ratings[user] - item_means
        user_year = self._user_years[user]
        if user_year > 0:
            out[:, _YEAR_DIFF] = np.where(item_years > 0, item_years - user_year, 0.0)
        out[:, _LOG_COUNT_DIFF] = item_log_counts - self._user_log_counts[user]
        return out

    def _neighbourhood(self, batch: FeatureBatch, out: NDArray[np.float32]) -> None:
        """The SAR and similarity columns, from the history's edges that point at a candidate."""
        edges = neighbour_edges(self._snapshot, batch.history)
        if len(edges) == 0:
            return
        n = len(batch)
        # Each candidate item's slot: one of its positions (any one, if it repeats).
        slot = np.full(self._snapshot.n_items, -1, dtype=np.int64)
        slot[batch.item_indices] = np.arange(n)
        hit = slot[edges.items]
        # Integer positions: one boolean pass, then cheap integer gathers.
        kept = np.flatnonzero(hit >= 0)
        hit, similarities = hit[kept], edges.similarities[kept]
        largest = np.zeros(n, dtype=np.float32)
        np.maximum.at(largest, hit, similarities)
        # Reading through the slots gives repeated candidates their item's values.
        slots = slot[batch.item_indices]
        weighted = similarities * edges.affinities[kept]
        out[:, _SAR] = np.bincount(hit, weights=weighted, minlength=n)[slots]
        out[:, _MAX_SIMILARITY] = largest[slots]
        sums = np.bincount(hit, weights=similarities, minlength=n)
        out[:, _MEAN_SIMILARITY] = sums[slots] / len(batch.history)
        out[:, _NEIGHBOURS] = np.bincount(hit, minlength=n)[slots]
