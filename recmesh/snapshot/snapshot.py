"""The Snapshot: every array the serving services keep in memory for one serving version."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from recmesh.data.external_ids import external_code
from recmesh.snapshot.config import SnapshotConfig

ScalarT = TypeVar("ScalarT", bound=np.generic)

SECONDS_PER_DAY = 86_400
_USER_ID = re.compile(r"-?[0-9]{1,18}")
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def _empty(dtype: type[ScalarT]) -> NDArray[ScalarT]:
    out: NDArray[ScalarT] = np.zeros(0, dtype=dtype)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Items, users, histories, similarities, latent factors and statistics, as numpy arrays.

    Invariants (checked by `validate.check_snapshot`, which decoding runs):

    - Items are the dataset's whole catalogue: `item_ids` strictly increasing, and every
      `item_*` array, `titles`, `popularity` and the rows of `item_genres` have one entry per
      item. An item's *index* is its position in `item_ids`.
    - Users are those with training interactions plus those of the dataset's user table:
      `user_ids` strictly increasing, every `user_*` array has one entry per user. A user's
      history may be empty (demographics only).
    - `history_*` is CSR over users (`history_indptr`, n_users + 1): one entry per distinct
      (user, item), item indices increasing within a user. `history_weights` is the
      time-decayed affinity (sum of `rating * 2**(-(last_u - t) / half_life)`, `last_u` the
      user's latest interaction), `history_ratings` and `history_timestamps` those of the
      user's latest interaction with the item.
    - `similarity_*` is CSR over items: row i holds at most `config.neighbors_per_item`
      other items, all with similarity > 0, most similar first (ties: lower index first).
    - Statistics of an item or user without interactions are 0. `item_rating_stds` and
      `user_rating_stds` are population standard deviations (0 below two ratings).
    - `popularity` is the time-decayed interaction count at `now` (float64, so that items
      last seen many half-lives ago keep their order instead of underflowing to 0).
    - `item_recent_counts` counts interactions in (now - w, now], `item_prior_counts` those
      in (now - 2w, now - w], w = `config.recent_window_days`.
    - `user_genre_profiles` rows are the affinity-weighted sum of the history's genre rows,
      scaled to unit L2 norm (all zero when there is nothing to weigh).
    - `item_factors` (n_items x k) and `user_factors` (n_users x k), k =
      `config.latent_factors`: the shrunk truncated SVD of the binary user x item history
      matrix, users folded in (`latent.latent_factors`); `user_factors[u] @ item_factors[i]`
      scores item i for user u (0 for a user without history).
    - Demographics: `user_ages` 0, `user_genders` and `user_occupations` "" where unknown;
      `has_demographics` tells whether the dataset had a user table at all.
    - `now` is the latest interaction timestamp (Unix seconds) the snapshot was built from.
    - `item_external_ids` and `user_external_ids` are empty when the dataset's item (user)
      ids are integers; otherwise they hold each item's (user's) string id, whose code is
      its id (`recmesh.data.external_ids`), and a user asked for by string is looked up by
      the string's code.
    - `ease_*` is empty unless `config.ease_neighbors_per_item` (N) is above 0; then it is
      CSR over items: row h holds at most N other items j with EASE's weight B[h, j] > 0,
      largest first (ties: lower index first), for the "ease" candidate source.
    """

    dataset_name: str
    dataset_fingerprint: str
    config: SnapshotConfig
    now: int
    global_mean_rating: float
    has_demographics: bool

    item_ids: NDArray[np.int64]
    titles: tuple[str, ...]
    genre_names: tuple[str, ...]
    item_genres: NDArray[np.float32]
    item_years: NDArray[np.int32]
    item_counts: NDArray[np.int64]
    item_mean_ratings: NDArray[np.float32]
    item_rating_stds: NDArray[np.float32]
    item_first_timestamps: NDArray[np.int64]
    item_last_timestamps: NDArray[np.int64]
    item_recent_counts: NDArray[np.int64]
    item_prior_counts: NDArray[np.int64]
    popularity: NDArray[np.float64]
    item_factors: NDArray[np.float32]

    similarity_indptr: NDArray[np.int64]
    similarity_indices: NDArray[np.int64]
    similarity_values: NDArray[np.float32]

    user_ids: NDArray[np.int64]
    user_counts: NDArray[np.int64]
    user_mean_ratings: NDArray[np.float32]
    user_rating_stds: NDArray[np.float32]
    user_first_timestamps: NDArray[np.int64]
    user_last_timestamps: NDArray[np.int64]
    user_genre_profiles: NDArray[np.float32]
    user_factors: NDArray[np.float32]
    user_ages: NDArray[np.int32]
    user_genders: tuple[str, ...]
    user_occupations: tuple[str, ...]

    history_indptr: NDArray[np.int64]
    history_items: NDArray[np.int64]
    history_weights: NDArray[np.float32]
    history_ratings: NDArray[np.float32]
    history_timestamps: NDArray[np.int64]

    item_external_ids: tuple[str, ...] = ()
    user_external_ids: tuple[str, ...] = ()

    ease_indptr: NDArray[np.int64] = field(default_factory=lambda: _empty(np.int64))
    ease_indices: NDArray[np.int64] = field(default_factory=lambda: _empty(np.int64))
    ease_values: NDArray[np.float32] = field(default_factory=lambda: _empty(np.float32))

    @property
    def n_items(self) -> int:
        return int(self.item_ids.shape[0])

    @property
    def n_users(self) -> int:
        return int(self.user_ids.shape[0])

    def item_indices_of(self, item_ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """The index of each item id, -1 where the id is not in the catalogue."""
        return indices_in(self.item_ids, item_ids)

    def user_indices_of(self, user_ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """The index of each user id, -1 where the id is not a snapshot user."""
        return indices_in(self.user_ids, user_ids)

    def user_index(self, user_id: str | int) -> int | None:
        """The index of one user, None when unknown.

        When the users have string ids, a string is looked up by its code. Otherwise a
        string id must be a plain decimal integer ("196", "-3"); any other string (empty,
        spaces, "1e3", "0x10") names no snapshot user and gives None.
        """
        if isinstance(user_id, str):
            if self.user_external_ids:
                user_id = external_code(user_id)
            elif _USER_ID.fullmatch(user_id) is None:
                return None
            else:
                user_id = int(user_id)
        if not _INT64_MIN <= user_id <= _INT64_MAX:
            return None
        position = int(np.searchsorted(self.user_ids, user_id))
        if position < self.n_users and int(self.user_ids[position]) == user_id:
            return position
        return None

    def has_history(self, user_index: int | None) -> bool:
        """True when the user is known and has at least one training interaction."""
        if user_index is None:
            return False
        return bool(self.history_indptr[user_index + 1] > self.history_indptr[user_index])


def indices_in(sorted_ids: NDArray[np.int64], ids: NDArray[np.int64]) -> NDArray[np.int64]:
    """Position of each id in the strictly increasing `sorted_ids`, -1 where absent."""
    positions = np.searchsorted(sorted_ids, ids)
    if sorted_ids.shape[0] == 0:
        return np.full(positions.shape, -1, dtype=np.int64)
    clipped = np.minimum(positions, sorted_ids.shape[0] - 1)
    return np.where(sorted_ids[clipped] == ids, clipped, -1).astype(np.int64)
