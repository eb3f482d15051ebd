"""Keeps a shadow Rank from ever holding up a champion Rank.

Ranking scores on its event loop: a champion Rank's XGBoost call is short and
runs there, with no thread hop. A challenger's model may be far slower (tens of ms a
request for thousands of deep trees), and a shadow Rank scoring on the loop would
make every champion call that arrives meanwhile wait. So a Rank the front marks as a
shadow call (services/common/shadow_calls.py):

- is refused at once, RESOURCE_EXHAUSTED with the shadow-shed ErrorInfo
  (`ShadowShedError`), while more than `shed_above` champion Rank items are in
  flight here, checked when it arrives and again before it scores;
- scores in the lane's one worker thread (`score`): XGBoost's predict releases the
  GIL, so the loop keeps serving champion calls while it runs, and shadow scorings
  queue behind each other, never beside the champion's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
from numpy.typing import NDArray

from recmesh.core.ranking.model import RankingModel
from services.common.shadow_calls import ShadowShedError

#: Shadow calls are shed while more champion Rank items than this are in flight.
DEFAULT_SHED_ABOVE = 2


class ShadowLane:
    """Champion Rank items in flight, and the thread shadow Ranks score in."""

    def __init__(self, shed_above: int = DEFAULT_SHED_ABOVE) -> None:
        if shed_above < 0:
            raise ValueError(f"shed_above is >= 0, not {shed_above!r}")
        self.shed_above = shed_above
        self.champions_in_flight = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ranking-shadow")

    @contextmanager
    def champion(self, items: int = 1) -> Iterator[None]:
        """Counts `items` champion Rank items in flight for the block."""
        self.champions_in_flight += items
        try:
            yield
        finally:
            self.champions_in_flight -= items

    def admit(self) -> None:
        """Raises ShadowShedError while champion calls are in flight above the limit."""
        if self.champions_in_flight > self.shed_above:
            raise ShadowShedError(
                f"ranking sheds shadow calls: {self.champions_in_flight} champion Rank "
                f"items in flight (limit {self.shed_above})"
            )

    async def score(self, model: RankingModel, matrix: NDArray[np.float32]) -> NDArray[np.float32]:
        """`model.score(matrix)` in the lane's thread, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, model.score, matrix)

    def close(self) -> None:
        """Drops queued scorings (the server stops)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
