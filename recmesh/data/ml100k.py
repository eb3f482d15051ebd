"""Loads MovieLens 100K from a cache written by `fetch_ml100k`, or from the official files."""

from __future__ import annotations

from pathlib import Path

from recmesh.data import ml100k_layout as layout
from recmesh.data import ml100k_official as official
from recmesh.data.columns import interactions_from, require_known
from recmesh.data.dataset import Dataset
from recmesh.data.errors import DataFormatError
from recmesh.data.fingerprint import fingerprint_interactions
from recmesh.data.parsing import read_table

DATASET_NAME = "ml-100k"


def load_ml100k(directory: Path) -> Dataset:
    """The ml-100k Dataset in `directory`: 100,000 ratings with timestamps, 1,682 items
    (title, release year, the 19 ml-100k genres), 943 users (age, gender, occupation).

    `directory` holds either the cache layout of `recmesh.data.ml100k_layout`
    (ratings.tsv, items.tsv, users.tsv) or the official u.data, u.item (latin-1)
    and u.user. Checksums are not verified here (`fetch_ml100k` does that). Every
    rating must name a known item and user. Raises DataFormatError naming the file
    and line of the first problem; nothing is returned half-loaded.
    """
    if (directory / layout.RATINGS_FILE).is_file():
        ratings_path = directory / layout.RATINGS_FILE
        items_path = directory / layout.ITEMS_FILE
        users_path = directory / layout.USERS_FILE
        items_table = read_table(items_path, delimiter="\t", has_header=True, quoted=False)
        users_table = read_table(users_path, delimiter="\t", has_header=True, quoted=False)
        catalog = layout.item_catalog(layout.parse_items(items_table))
        users = layout.user_table(layout.parse_users(users_table))
    elif (directory / official.RATINGS_FILE).is_file():
        ratings_path = directory / official.RATINGS_FILE
        items_path = directory / official.ITEMS_FILE
        users_path = directory / official.USERS_FILE
        catalog = layout.item_catalog(official.parse_items(items_path))
        users = layout.user_table(official.parse_users(users_path))
    else:
        raise DataFormatError(
            directory,
            None,
            f"no ml-100k data: expected {layout.RATINGS_FILE}, {layout.ITEMS_FILE} and "
            f"{layout.USERS_FILE} (as `recmesh data fetch ml-100k` writes them) or the "
            f"official {official.RATINGS_FILE}, {official.ITEMS_FILE} and {official.USERS_FILE}",
        )
    ratings = read_table(ratings_path, delimiter="\t", has_header=False, width=4, quoted=False)
    interactions = interactions_from(ratings, user=0, item=1, rating=2, timestamp=3)
    require_known(ratings, interactions.items, catalog.item_ids, "item", items_path.name)
    require_known(ratings, interactions.users, users.user_ids, "user", users_path.name)
    return Dataset(
        name=DATASET_NAME,
        interactions=interactions,
        items=catalog,
        users=users,
        fingerprint=fingerprint_interactions(interactions),
    )
