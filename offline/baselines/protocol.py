"""What a recommender offers the offline harness: ranked lists for given users."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from offline.topk import TopK
from recmesh.data.dataset import Interactions


class Recommender(Protocol):
    """A fitted model that ranks items for users.

    `name` is stable and used as the model's label in logs and records.
    `recommend` returns one list per requested user, in the order given
    (`TopK.users` equals `users`), each of at most k distinct items, best
    first. With `remove_seen`, no list holds an item the user interacted with
    in training. `users` must be distinct (ValueError otherwise); how unknown
    users are treated is up to each model and stated in its docstring.
    """

    @property
    def name(self) -> str: ...

    def recommend(self, users: NDArray[np.int64], k: int, *, remove_seen: bool = True) -> TopK: ...


class Trainer(Protocol):
    """Fits a recommender on training interactions; pure: the input is not modified."""

    def __call__(self, train: Interactions) -> Recommender: ...
