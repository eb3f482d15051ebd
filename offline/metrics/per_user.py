"""Metric values per user, the unit the bootstrap resamples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from offline.errors import MisalignedUsersError


@dataclass(frozen=True)
class PerUserMetrics:
    """Named metric arrays aligned to one users array.

    `users` (int64, n) holds distinct user ids, sorted ascending; every array
    in `values` is float64 of length n, its i-th entry the metric for
    `users[i]`. The aggregate of a metric is the plain mean over these users.
    The constructor checks the shapes and raises ValueError; `values` is stored
    read-only.
    """

    users: NDArray[np.int64]
    values: Mapping[str, NDArray[np.float64]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.users.shape[0]
        if self.users.ndim != 1 or np.any(self.users[1:] <= self.users[:-1]):
            raise ValueError("PerUserMetrics users must be a sorted array of distinct ids")
        for name, array in self.values.items():
            if array.shape != (n,) or array.dtype != np.float64:
                raise ValueError(
                    f"metric {name!r} must be float64 of shape ({n},), "
                    f"got {array.dtype} {array.shape}"
                )
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    def __len__(self) -> int:
        return int(self.users.shape[0])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.values)

    def mean(self, name: str) -> float:
        """The aggregate of metric `name`: its mean over the users (nan for no users)."""
        array = self.values[name]
        return float(array.mean()) if array.shape[0] else float("nan")

    def means(self) -> dict[str, float]:
        return {name: self.mean(name) for name in self.values}

    def select(self, mask: NDArray[np.bool_]) -> PerUserMetrics:
        """The users where `mask` is true, with every metric."""
        return PerUserMetrics(
            users=self.users[mask], values={k: v[mask] for k, v in self.values.items()}
        )

    def merged(self, other: PerUserMetrics) -> PerUserMetrics:
        """Both sets of metrics over the same users; raises MisalignedUsersError otherwise.

        A metric name present in both is an error (ValueError).
        """
        require_same_users(self, other)
        clash = set(self.values) & set(other.values)
        if clash:
            raise ValueError(f"metrics present on both sides: {', '.join(sorted(clash))}")
        return PerUserMetrics(users=self.users, values={**self.values, **other.values})


def require_same_users(a: PerUserMetrics, b: PerUserMetrics) -> None:
    """Raises MisalignedUsersError unless `a` and `b` cover exactly the same users."""
    if a.users.shape != b.users.shape or not np.array_equal(a.users, b.users):
        only_a = np.setdiff1d(a.users, b.users).shape[0]
        only_b = np.setdiff1d(b.users, a.users).shape[0]
        raise MisalignedUsersError(
            f"per-user metrics cover different users ({len(a)} vs {len(b)}; "
            f"{only_a} only in the first, {only_b} only in the second)"
        )


def require_metrics(per_user: PerUserMetrics, names: Sequence[str]) -> None:
    """Raises KeyError naming the first of `names` that `per_user` lacks."""
    for name in names:
        if name not in per_user.values:
            raise KeyError(f"no per-user metric {name!r} (have: {', '.join(per_user.names)})")
