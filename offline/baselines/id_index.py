"""Raw ids to contiguous matrix positions and back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offline.errors import UnknownIdsError


@dataclass(frozen=True)
class IdIndex:
    """Positions 0..n-1 for n distinct ids, in ascending id order (`ids` is sorted)."""

    ids: NDArray[np.int64]

    @classmethod
    def of(cls, values: NDArray[np.int64]) -> IdIndex:
        return cls(ids=np.unique(values).astype(np.int64))

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def lookup(self, values: NDArray[np.int64]) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
        """(position, known) of each of `values`; the position of an unknown id is 0."""
        if len(self) == 0:
            return np.zeros(values.shape, dtype=np.intp), np.zeros(values.shape, dtype=np.bool_)
        position = np.minimum(np.searchsorted(self.ids, values), len(self) - 1)
        known = self.ids[position] == values
        return np.where(known, position, 0).astype(np.intp), known

    def positions(self, values: NDArray[np.int64], kind: str, context: str) -> NDArray[np.intp]:
        """The position of each of `values`; raises UnknownIdsError if any is unknown."""
        position, known = self.lookup(values)
        if not known.all():
            raise UnknownIdsError(kind, values[~known], context)
        return position
