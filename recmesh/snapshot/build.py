"""Builds a Snapshot from a dataset's catalogue and a set of (training) interactions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from recmesh.data.dataset import Dataset, Interactions, UserTable
from recmesh.data.fingerprint import fingerprint_interactions
from recmesh.snapshot.config import SnapshotConfig
from recmesh.snapshot.decay import decay_factors
from recmesh.snapshot.errors import SnapshotBuildError
from recmesh.snapshot.latent import LatentFactors, latent_factors
from recmesh.snapshot.similarity import item_similarity
from recmesh.snapshot.snapshot import SECONDS_PER_DAY, Snapshot, indices_in
from recmesh.snapshot.validate import freeze


def build_snapshot(
    dataset: Dataset, interactions: Interactions, config: SnapshotConfig | None = None
) -> Snapshot:
    """The snapshot of `interactions` over `dataset`'s catalogue and user table.

    `interactions` is the part the snapshot may know (the training split); the item
    catalogue, titles, genres and demographics come from `dataset`. Raises
    SnapshotBuildError when there are no interactions, when the catalogue is not sorted
    by strictly increasing id, or when an interaction names an item missing from it.
    """
    config = config or SnapshotConfig()
    catalogue = dataset.items
    item_ids = np.ascontiguousarray(catalogue.item_ids, dtype=np.int64)
    if len(interactions) == 0:
        raise SnapshotBuildError("cannot build a snapshot from zero interactions")
    if item_ids.shape[0] > 1 and not np.all(np.diff(item_ids) > 0):
        raise SnapshotBuildError("catalogue item ids are not strictly increasing")
    n_items = int(item_ids.shape[0])
    items = indices_in(item_ids, interactions.items)
    if np.any(items < 0):
        missing = np.unique(interactions.items[items < 0])
        raise SnapshotBuildError(
            f"{missing.shape[0]} item ids of the interactions are not in the catalogue, "
            f"e.g. {missing[:5].tolist()}"
        )
    user_ids = np.unique(interactions.users)
    if dataset.users is not None:
        user_ids = np.union1d(user_ids, dataset.users.user_ids).astype(np.int64)
    n_users = int(user_ids.shape[0])
    users = np.searchsorted(user_ids, interactions.users).astype(np.int64)
    timestamps = interactions.timestamps.astype(np.int64)
    ratings = interactions.ratings.astype(np.float64)
    now = int(timestamps.max())

    item_stats = _group_stats(items, ratings, timestamps, n_items)
    user_stats = _group_stats(users, ratings, timestamps, n_users)
    window = round(config.recent_window_days * SECONDS_PER_DAY)
    recent = timestamps > now - window
    prior = (timestamps > now - 2 * window) & ~recent
    popularity = np.bincount(
        items,
        weights=decay_factors(timestamps, now, config.popularity_half_life_days),
        minlength=n_items,
    )

    affinity = ratings * decay_factors(
        timestamps, user_stats.last[users], config.affinity_half_life_days
    )
    history = _history(users, items, ratings, timestamps, affinity, n_users, n_items)
    genres = np.ascontiguousarray(catalogue.genres, dtype=np.float32)
    similarity = item_similarity(
        users[history.pair_rows],
        items[history.pair_rows],
        n_users,
        n_items,
        config.similarity,
        config.neighbors_per_item,
        config.min_cooccurrence,
    )
    factors = _latent(history.indptr, history.items, (n_users, n_items), config)
    ease_indptr, ease_indices, ease_values = _ease(
        history.indptr, history.items, (n_users, n_items), config
    )
    ages, genders, occupations = _demographics(user_ids, dataset.users)
    return Snapshot(
        dataset_name=dataset.name,
        # The data the snapshot was built from: the dataset's whole fingerprint only
        # when it holds every row (a TRAIN split's snapshot names the split's rows).
        dataset_fingerprint=(
            dataset.fingerprint
            if interactions is dataset.interactions
            else fingerprint_interactions(interactions)
        ),
        config=config,
        now=now,
        global_mean_rating=float(ratings.mean()),
        has_demographics=dataset.users is not None,
        item_ids=freeze(item_ids),
        titles=tuple(catalogue.titles),
        genre_names=tuple(catalogue.genre_names),
        item_genres=freeze(genres.reshape(n_items, len(catalogue.genre_names))),
        item_years=freeze(catalogue.years.astype(np.int32)),
        item_counts=freeze(item_stats.counts),
        item_mean_ratings=freeze(item_stats.means),
        item_rating_stds=freeze(item_stats.stds),
        item_first_timestamps=freeze(item_stats.first),
        item_last_timestamps=freeze(item_stats.last),
        item_recent_counts=freeze(np.bincount(items[recent], minlength=n_items)),
        item_prior_counts=freeze(np.bincount(items[prior], minlength=n_items)),
        popularity=freeze(popularity.astype(np.float64)),
        item_factors=freeze(factors.items),
        similarity_indptr=freeze(similarity.indptr),
        similarity_indices=freeze(similarity.indices),
        similarity_values=freeze(similarity.values),
        user_ids=freeze(user_ids.astype(np.int64)),
        user_counts=freeze(user_stats.counts),
        user_mean_ratings=freeze(user_stats.means),
        user_rating_stds=freeze(user_stats.stds),
        user_first_timestamps=freeze(user_stats.first),
        user_last_timestamps=freeze(user_stats.last),
        user_genre_profiles=freeze(_genre_profiles(history, genres, n_users)),
        user_factors=freeze(factors.users),
        user_ages=freeze(ages),
        user_genders=genders,
        user_occupations=occupations,
        history_indptr=freeze(history.indptr),
        history_items=freeze(history.items),
        history_weights=freeze(history.weights),
        history_ratings=freeze(history.ratings),
        history_timestamps=freeze(history.timestamps),
        item_external_ids=tuple(catalogue.external_ids),
        user_external_ids=(
            ()
            if dataset.user_external_ids is None
            else tuple(dataset.user_external_ids.names_of(user_ids))
        ),
        ease_indptr=freeze(ease_indptr),
        ease_indices=freeze(ease_indices),
        ease_values=freeze(ease_values),
    )


@dataclass(frozen=True)
class _GroupStats:
    """Count, rating mean and population std, first and last timestamp per group."""

    counts: NDArray[np.int64]
    means: NDArray[np.float32]
    stds: NDArray[np.float32]
    first: NDArray[np.int64]
    last: NDArray[np.int64]


def _group_stats(
    groups: NDArray[np.int64],
    ratings: NDArray[np.float64],
    timestamps: NDArray[np.int64],
    n_groups: int,
) -> _GroupStats:
    counts = np.bincount(groups, minlength=n_groups)
    safe = np.maximum(counts, 1).astype(np.float64)
    means = np.bincount(groups, weights=ratings, minlength=n_groups) / safe
    deviations = ratings - means[groups]
    variances = np.bincount(groups, weights=deviations * deviations, minlength=n_groups)
    first = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, groups, timestamps)
    last = np.zeros(n_groups, dtype=np.int64)
    np.maximum.at(last, groups, timestamps)
    return _GroupStats(
        counts=counts.astype(np.int64),
        means=np.where(counts > 0, means, 0.0).astype(np.float32),
        stds=np.where(counts >= 2, np.sqrt(variances / safe), 0.0).astype(np.float32),
        first=np.where(counts > 0, first, 0).astype(np.int64),
        last=np.where(counts > 0, last, 0).astype(np.int64),
    )


@dataclass(frozen=True)
class _History:
    """Distinct (user, item) pairs in CSR order; `pair_rows` are their latest source rows."""

    indptr: NDArray[np.int64]
    items: NDArray[np.int64]
    weights: NDArray[np.float32]
    ratings: NDArray[np.float32]
    timestamps: NDArray[np.int64]
    pair_rows: NDArray[np.int64]


def _history(
    users: NDArray[np.int64],
    items: NDArray[np.int64],
    ratings: NDArray[np.float64],
    timestamps: NDArray[np.int64],
    affinity: NDArray[np.float64],
    n_users: int,
    n_items: int,
) -> _History:
    # Stable sort by (user, item, time): the last row of each pair is its latest
    # interaction, file order breaking timestamp ties.
    order = np.lexsort((timestamps, items, users))
    keys = users[order] * n_items + items[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    ends = np.concatenate((starts[1:], [keys.shape[0]])) - 1
    latest = order[ends]
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(users[latest], minlength=n_users), out=indptr[1:])
    return _History(
        indptr=indptr,
        items=items[latest].astype(np.int64),
        weights=np.add.reduceat(affinity[order], starts).astype(np.float32),
        ratings=ratings[latest].astype(np.float32),
        timestamps=timestamps[latest].astype(np.int64),
        pair_rows=latest.astype(np.int64),
    )


def _genre_profiles(
    history: _History, genres: NDArray[np.float32], n_users: int
) -> NDArray[np.float32]:
    n_items = genres.shape[0]
    weights = sparse.csr_matrix(
        (history.weights.astype(np.float64), history.items, history.indptr),
        shape=(n_users, n_items),
    )
    profiles = np.asarray(weights @ genres.astype(np.float64), dtype=np.float64)
    norms = np.linalg.norm(profiles, axis=1, keepdims=True)
    np.divide(profiles, norms, out=profiles, where=norms > 0)
    return profiles.astype(np.float32).reshape(n_users, genres.shape[1])


def _demographics(
    user_ids: NDArray[np.int64], table: UserTable | None
) -> tuple[NDArray[np.int32], tuple[str, ...], tuple[str, ...]]:
    n_users = user_ids.shape[0]
    if table is None:
        return np.zeros(n_users, dtype=np.int32), ("",) * n_users, ("",) * n_users
    rows = indices_in(np.asarray(table.user_ids, dtype=np.int64), user_ids)
    ages = np.where(rows >= 0, np.asarray(table.ages)[np.maximum(rows, 0)], 0).astype(np.int32)
    genders = tuple(table.genders[r] if r >= 0 else "" for r in rows.tolist())
    occupations = tuple(table.occupations[r] if r >= 0 else "" for r in rows.tolist())
    return ages, genders, occupations


def _latent(
    indptr: NDArray[np.int64],
    items: NDArray[np.int64],
    shape: tuple[int, int],
    config: SnapshotConfig,
) -> LatentFactors:
    """The snapshot's factors of the binary history matrix, by `config.latent_model`."""
    if config.latent_model == "svd" or config.latent_factors == 0:
        return latent_factors(indptr, items, shape, config.latent_factors, config.latent_shrinkage)
    seen = sparse.csr_matrix(
        (np.ones(items.shape[0], dtype=np.float32), items, indptr), shape=shape
    )
    # implicit and cornac are imported only by the builds that ask for them, never by serving.
    if config.latent_model == "als":
        from recmesh.snapshot.als import ALS_ALPHA, ALS_ITERATIONS, ALS_SEED, als_factors

        factors = als_factors(
            seen,
            config.latent_factors,
            config.latent_shrinkage,
            ALS_ALPHA,
            ALS_ITERATIONS,
            ALS_SEED,
            threads=1,
        )
    elif config.latent_model == "bpr":
        from recmesh.snapshot.bpr import BPR_ITERATIONS, BPR_LEARNING_RATE, BPR_SEED, bpr_factors

        # Both BPRs add the item bias as a column: k - 1 factors keep the width k.
        factors = bpr_factors(
            seen,
            config.latent_factors - 1,
            BPR_LEARNING_RATE,
            config.latent_shrinkage,
            BPR_ITERATIONS,
            BPR_SEED,
        )
    else:
        from recmesh.snapshot.cornac_bpr import (
            CORNAC_BPR_ITERATIONS,
            CORNAC_BPR_LEARNING_RATE,
            CORNAC_BPR_SEED,
            cornac_bpr_factors,
        )

        factors = cornac_bpr_factors(
            np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(indptr)),
            items,
            shape,
            config.latent_factors - 1,
            CORNAC_BPR_LEARNING_RATE,
            config.latent_shrinkage,
            CORNAC_BPR_ITERATIONS,
            CORNAC_BPR_SEED,
        )
    # As with the SVD, a user without history has a zero row (the fits leave a remainder,
    # and a BPR user row its bias column of 1).
    users = factors.users.copy()
    users[np.diff(indptr) == 0] = 0.0
    return LatentFactors(users=users, items=factors.items)


def _ease(
    indptr: NDArray[np.int64],
    items: NDArray[np.int64],
    shape: tuple[int, int],
    config: SnapshotConfig,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
    """EASE's neighbour lists (indptr, indices, values) of the binary history matrix;
    empty when `config.ease_neighbors_per_item` is 0."""
    if config.ease_neighbors_per_item == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    # cornac is imported only by the builds that ask for EASE, never by serving.
    from recmesh.snapshot.ease import ease_neighbours

    found = ease_neighbours(indptr, items, shape, config.ease_l2, config.ease_neighbors_per_item)
    return found.indptr, found.indices, found.values
