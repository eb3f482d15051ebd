"""The snapshot's array schema and the invariant check that decoding runs."""

from __future__ import annotations

from typing import Any, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from recmesh.snapshot.errors import SnapshotFormatError
from recmesh.snapshot.snapshot import Snapshot

ArrayT = TypeVar("ArrayT", bound=NDArray[Any])

# Every array field of Snapshot: its exact dtype and number of dimensions.
ARRAY_FIELDS: dict[str, tuple[np.dtype[Any], int]] = {
    "item_ids": (np.dtype(np.int64), 1),
    "item_genres": (np.dtype(np.float32), 2),
    "item_years": (np.dtype(np.int32), 1),
    "item_counts": (np.dtype(np.int64), 1),
    "item_mean_ratings": (np.dtype(np.float32), 1),
    "item_rating_stds": (np.dtype(np.float32), 1),
    "item_first_timestamps": (np.dtype(np.int64), 1),
    "item_last_timestamps": (np.dtype(np.int64), 1),
    "item_recent_counts": (np.dtype(np.int64), 1),
    "item_prior_counts": (np.dtype(np.int64), 1),
    "popularity": (np.dtype(np.float64), 1),
    "item_factors": (np.dtype(np.float32), 2),
    "similarity_indptr": (np.dtype(np.int64), 1),
    "similarity_indices": (np.dtype(np.int64), 1),
    "similarity_values": (np.dtype(np.float32), 1),
    "user_ids": (np.dtype(np.int64), 1),
    "user_counts": (np.dtype(np.int64), 1),
    "user_mean_ratings": (np.dtype(np.float32), 1),
    "user_rating_stds": (np.dtype(np.float32), 1),
    "user_first_timestamps": (np.dtype(np.int64), 1),
    "user_last_timestamps": (np.dtype(np.int64), 1),
    "user_genre_profiles": (np.dtype(np.float32), 2),
    "user_factors": (np.dtype(np.float32), 2),
    "user_ages": (np.dtype(np.int32), 1),
    "history_indptr": (np.dtype(np.int64), 1),
    "history_items": (np.dtype(np.int64), 1),
    "history_weights": (np.dtype(np.float32), 1),
    "history_ratings": (np.dtype(np.float32), 1),
    "history_timestamps": (np.dtype(np.int64), 1),
}

# Every tuple-of-strings field of Snapshot that is always stored.
STRING_FIELDS = ("titles", "genre_names", "user_genders", "user_occupations")
# Those stored only when not empty (a dataset with integer ids has none), so the snapshots
# of such datasets keep their bytes.
OPTIONAL_STRING_FIELDS = ("item_external_ids", "user_external_ids")
# Array fields stored only when the config asks for them (EASE's neighbour lists), so the
# snapshots of configs without them keep their bytes.
OPTIONAL_ARRAY_FIELDS: dict[str, tuple[np.dtype[Any], int]] = {
    "ease_indptr": (np.dtype(np.int64), 1),
    "ease_indices": (np.dtype(np.int64), 1),
    "ease_values": (np.dtype(np.float32), 1),
}

_PER_ITEM = (
    "item_years",
    "item_counts",
    "item_mean_ratings",
    "item_rating_stds",
    "item_first_timestamps",
    "item_last_timestamps",
    "item_recent_counts",
    "item_prior_counts",
    "popularity",
)
_PER_USER = (
    "user_counts",
    "user_mean_ratings",
    "user_rating_stds",
    "user_first_timestamps",
    "user_last_timestamps",
    "user_ages",
)


def freeze(array: ArrayT) -> ArrayT:
    """A C-contiguous, read-only copy: a snapshot is shared by every request, and freezing
    a copy leaves the caller's own array writable."""
    out = np.array(array, order="C", copy=True)
    out.flags.writeable = False
    return cast(ArrayT, out)


def check_snapshot(snapshot: Snapshot) -> None:
    """Raises SnapshotFormatError naming the first broken invariant of `Snapshot`."""
    for name, (dtype, ndim) in (ARRAY_FIELDS | OPTIONAL_ARRAY_FIELDS).items():
        array = getattr(snapshot, name)
        if not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != ndim:
            raise SnapshotFormatError(f"{name} must be a {ndim}-d {dtype} array")
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise SnapshotFormatError(f"{name} holds NaN or infinite values")
    for name in (*STRING_FIELDS, *OPTIONAL_STRING_FIELDS):
        value = getattr(snapshot, name)
        if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
            raise SnapshotFormatError(f"{name} must be a tuple of strings")
    n_items, n_users, n_genres = snapshot.n_items, snapshot.n_users, len(snapshot.genre_names)
    _check_increasing(snapshot.item_ids, "item_ids")
    _check_increasing(snapshot.user_ids, "user_ids")
    _check_lengths(snapshot, (*_PER_ITEM, "titles"), n_items)
    _check_lengths(snapshot, (*_PER_USER, "user_genders", "user_occupations"), n_users)
    for name, n in (("item_external_ids", n_items), ("user_external_ids", n_users)):
        if getattr(snapshot, name):
            _check_lengths(snapshot, (name,), n)
    if snapshot.item_genres.shape != (n_items, n_genres):
        raise SnapshotFormatError(f"item_genres must be {n_items} x {n_genres}")
    if snapshot.user_genre_profiles.shape != (n_users, n_genres):
        raise SnapshotFormatError(f"user_genre_profiles must be {n_users} x {n_genres}")
    factors = snapshot.config.latent_factors
    if snapshot.item_factors.shape != (n_items, factors):
        raise SnapshotFormatError(f"item_factors must be {n_items} x {factors}")
    if snapshot.user_factors.shape != (n_users, factors):
        raise SnapshotFormatError(f"user_factors must be {n_users} x {factors}")
    for name in ("item_counts", "item_recent_counts", "item_prior_counts", "user_counts"):
        if np.any(getattr(snapshot, name) < 0):
            raise SnapshotFormatError(f"{name} holds negative counts")
    if np.any(snapshot.popularity < 0):
        raise SnapshotFormatError("popularity holds negative values")
    _check_csr(
        "similarity",
        snapshot.similarity_indptr,
        snapshot.similarity_indices,
        (snapshot.similarity_values,),
        n_items,
        n_items,
    )
    rows = _row_of_entries(snapshot.similarity_indptr)
    if np.any(snapshot.similarity_indices == rows):
        raise SnapshotFormatError("an item is its own neighbour")
    if np.any(snapshot.similarity_values <= 0):
        raise SnapshotFormatError("similarity values must be positive")
    keys = rows * n_items + snapshot.similarity_indices
    if np.unique(keys).shape[0] != keys.shape[0]:
        raise SnapshotFormatError("an item lists the same neighbour twice")
    _check_ease(snapshot)
    _check_csr(
        "history",
        snapshot.history_indptr,
        snapshot.history_items,
        (snapshot.history_weights, snapshot.history_ratings, snapshot.history_timestamps),
        n_users,
        n_items,
    )
    if np.any(_steps_within_rows(snapshot.history_indptr, snapshot.history_items) <= 0):
        raise SnapshotFormatError("history items must increase within each user")
    if snapshot.now < 0:
        raise SnapshotFormatError("now must not be negative")


def _check_ease(snapshot: Snapshot) -> None:
    limit, n_items = snapshot.config.ease_neighbors_per_item, snapshot.n_items
    arrays = (snapshot.ease_indptr, snapshot.ease_indices, snapshot.ease_values)
    if limit == 0:
        if any(array.shape[0] for array in arrays):
            raise SnapshotFormatError("ease arrays must be empty when EASE is off")
        return
    _check_csr("ease", *arrays[:2], (arrays[2],), n_items, n_items)
    if np.any(np.diff(snapshot.ease_indptr) > limit):
        raise SnapshotFormatError(f"an item has more than {limit} ease neighbours")
    if np.any(snapshot.ease_indices == _row_of_entries(snapshot.ease_indptr)):
        raise SnapshotFormatError("an item is its own ease neighbour")
    if np.any(snapshot.ease_values <= 0):
        raise SnapshotFormatError("ease values must be positive")


def _check_increasing(ids: NDArray[np.int64], name: str) -> None:
    if ids.shape[0] > 1 and not np.all(ids[1:] > ids[:-1]):
        raise SnapshotFormatError(f"{name} must be strictly increasing")


def _check_lengths(snapshot: Snapshot, names: tuple[str, ...], expected: int) -> None:
    for name in names:
        length = len(getattr(snapshot, name))
        if length != expected:
            raise SnapshotFormatError(f"{name} has {length} entries, expected {expected}")


def _check_csr(
    name: str,
    indptr: NDArray[np.int64],
    indices: NDArray[np.int64],
    values: tuple[NDArray[Any], ...],
    n_rows: int,
    n_columns: int,
) -> None:
    if indptr.shape[0] != n_rows + 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
        raise SnapshotFormatError(f"{name}_indptr must rise from 0 over {n_rows + 1} entries")
    if int(indptr[-1]) != indices.shape[0] or any(v.shape[0] != indices.shape[0] for v in values):
        raise SnapshotFormatError(f"{name} arrays disagree with {name}_indptr on their length")
    if indices.shape[0] and (int(indices.min()) < 0 or int(indices.max()) >= n_columns):
        raise SnapshotFormatError(f"{name} indices must lie in [0, {n_columns})")


def _row_of_entries(indptr: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.repeat(np.arange(indptr.shape[0] - 1, dtype=np.int64), np.diff(indptr))


def _steps_within_rows(indptr: NDArray[np.int64], indices: NDArray[np.int64]) -> NDArray[np.int64]:
    """indices[k + 1] - indices[k] for every k where both entries are in the same row."""
    rows = _row_of_entries(indptr)
    same_row = rows[1:] == rows[:-1]
    steps: NDArray[np.int64] = np.diff(indices.astype(np.int64))[same_row]
    return steps
