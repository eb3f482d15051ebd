"""The in-memory form of a loaded dataset, shared by serving snapshots and experiments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recmesh.data.external_ids import ExternalIds


@dataclass(frozen=True)
class Interactions:
    """One row per (user, item) interaction, in file order.

    All arrays have the same length. Ids are the dataset's own ids (MovieLens
    user and movie ids). `timestamps` are Unix seconds; 0 where the file has
    none. `ratings` holds the explicit rating, or the weight of an implicit
    interaction (1.0 where the file has neither).
    """

    users: NDArray[np.int64]
    items: NDArray[np.int64]
    ratings: NDArray[np.float32]
    timestamps: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.users.shape[0])

    def select(self, mask: NDArray[np.bool_]) -> Interactions:
        """Returns the rows where mask is true, in the same order."""
        return Interactions(
            users=self.users[mask],
            items=self.items[mask],
            ratings=self.ratings[mask],
            timestamps=self.timestamps[mask],
        )

    @property
    def n_users(self) -> int:
        return int(np.unique(self.users).shape[0])

    @property
    def n_items(self) -> int:
        return int(np.unique(self.items).shape[0])


@dataclass(frozen=True)
class ItemCatalog:
    """Item metadata, one entry per catalogue item, sorted by item id.

    `genres` is a 0/1 matrix (items x len(genre_names)). `years` holds the
    release year, 0 where unknown. Files without metadata give empty titles,
    no genres and year 0. `external_ids` is empty when the dataset's item ids are
    integers; otherwise it holds each item's string id (its code is `item_ids[i]`,
    see `recmesh.data.external_ids`).
    """

    item_ids: NDArray[np.int64]
    titles: tuple[str, ...]
    genre_names: tuple[str, ...]
    genres: NDArray[np.float32]
    years: NDArray[np.int32]
    external_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserTable:
    """User demographics where the dataset has them (ml-100k), sorted by user id."""

    user_ids: NDArray[np.int64]
    ages: NDArray[np.int32]
    genders: tuple[str, ...]
    occupations: tuple[str, ...]


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: interactions, catalogue, optional users, and its fingerprint.

    `fingerprint` is the hex sha256 over the canonical interaction rows
    (see `recmesh.data.fingerprint`), so the same data loaded from a
    different file layout has the same fingerprint. `user_external_ids` maps the
    user codes back to their strings when the user ids are not integers.
    """

    name: str
    interactions: Interactions
    items: ItemCatalog
    users: UserTable | None
    fingerprint: str
    user_external_ids: ExternalIds | None = None
