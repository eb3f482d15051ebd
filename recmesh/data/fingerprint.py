"""The fingerprint of a set of interactions, independent of file layout and row order."""

from __future__ import annotations

import hashlib

import numpy as np

from recmesh.data.dataset import Interactions

# Bumped whenever the encoding below changes, so old and new fingerprints never collide.
_DOMAIN = b"recmesh.interactions.v1\n"

# One packed little-endian record per row; the column order is part of the fingerprint.
_ROW = np.dtype([("user", "<i8"), ("item", "<i8"), ("timestamp", "<i8"), ("rating", "<f4")])


def fingerprint_interactions(interactions: Interactions) -> str:
    """Hex sha256 of the canonical rows of `interactions`.

    Rows are sorted by (user, item, timestamp, rating) and each is encoded as
    little-endian int64 user, int64 item, int64 timestamp, float32 rating (28
    packed bytes), after a fixed domain prefix. The same rows in any order,
    loaded from any file layout, give the same fingerprint; any changed id,
    timestamp or rating changes it. Ratings must not be NaN (loaders reject them).
    """
    users = np.asarray(interactions.users, dtype=np.int64)
    items = np.asarray(interactions.items, dtype=np.int64)
    timestamps = np.asarray(interactions.timestamps, dtype=np.int64)
    # + 0.0 turns -0.0 into 0.0, so the two spellings of zero encode alike.
    ratings = np.asarray(interactions.ratings, dtype=np.float32) + np.float32(0.0)
    order = np.lexsort((ratings, timestamps, items, users))
    rows = np.empty(users.shape[0], dtype=_ROW)
    rows["user"] = users[order]
    rows["item"] = items[order]
    rows["timestamp"] = timestamps[order]
    rows["rating"] = ratings[order]
    digest = hashlib.sha256(_DOMAIN)
    digest.update(rows.tobytes())
    return digest.hexdigest()
