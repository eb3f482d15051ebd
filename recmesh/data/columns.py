"""From parsed tables to `Interactions`, and checks that rows name known ids."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recmesh.data.dataset import Interactions
from recmesh.data.parsing import Table, float_column, int_column


def interactions_from(
    table: Table, *, user: int, item: int, rating: int | None, timestamp: int | None
) -> Interactions:
    """Interactions from the given columns of `table`, in file order.

    Without a rating column every rating is 1.0; without a timestamp column every
    timestamp is 0 (the `Interactions` contract). Raises DataFormatError at the
    first field that is not a number.
    """
    n = len(table.rows)
    return Interactions(
        users=int_column(table, user, "user id"),
        items=int_column(table, item, "item id"),
        ratings=(
            np.ones(n, dtype=np.float32)
            if rating is None
            else float_column(table, rating, "rating")
        ),
        timestamps=(
            np.zeros(n, dtype=np.int64)
            if timestamp is None
            else int_column(table, timestamp, "timestamp")
        ),
    )


def require_known(
    table: Table, ids: NDArray[np.int64], known: NDArray[np.int64], what: str, where: str
) -> None:
    """Raises DataFormatError at the first row of `table` whose id is not in `known`.

    `ids` is the id column of `table`; the message reads `item 1683 is not in items.tsv`.
    """
    present = np.isin(ids, known)
    if not present.all():
        row = int(np.argmin(present))
        raise table.error(row, f"{what} {int(ids[row])} is not in {where}")
