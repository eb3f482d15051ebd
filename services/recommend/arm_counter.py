"""A front's counts per arm of a staged rollout, kept as requests are answered.

Every request answered in a staged rollout is counted for its arm
(recmesh/rollout/arm_counts.py): requests, errors (the front answered with a
non-OK status after choosing the arm), degraded answers, answers slower than the
rollout's `latency_threshold_ms` (when it is > 0) and distinct users (a user of the
stage share answered by the champion while the challenger loads is counted for
neither arm: services/recommend/arms.py). Counts are
cumulative since this front first answered in the stage; a record naming another
rollout or stage starts new counts, and the finished stage's last counts are still
written once (`pending`). The writer (services/recommend/arm_counts_writer.py)
takes `pending()` about once a second and confirms with `written`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rollout.arm_counts import ARMS, FrontCounts


@dataclass(frozen=True)
class CountsToWrite:
    """A copy of one stage's counts; `generation` tells `written` which counts it was."""

    counts: FrontCounts
    generation: int


class _StageCounts:
    def __init__(self, front: str, rollout: records_pb2.Rollout) -> None:
        self.counts = FrontCounts(front, rollout.rollout_id, int(rollout.stage), 0.0)
        self.users: dict[str, set[str]] = {arm: set() for arm in ARMS}
        self.generation = 0
        self.written_generation = 0

    def key(self) -> tuple[str, int]:
        return self.counts.rollout_id, self.counts.stage


class ArmCounter:
    """Counts per arm of the stage the front answers in (one front, `front_id`)."""

    def __init__(self, front_id: str, clock: Callable[[], float] = time.time) -> None:
        self.front_id = front_id
        self._clock = clock
        self._stage: _StageCounts | None = None
        self._finished: list[_StageCounts] = []

    def count(
        self,
        rollout: records_pb2.Rollout,
        arm: str,
        user_id: str,
        *,
        error: bool,
        degraded: bool,
        latency_ms: float,
    ) -> None:
        """Counts one request the arm answered (or failed, `error`)."""
        stage = self._stage_of(rollout)
        tally = stage.counts.arms[arm]
        tally.requests += 1
        tally.errors += error
        tally.degraded += degraded
        threshold = rollout.latency_threshold_ms
        tally.slow += threshold > 0 and latency_ms > threshold
        users = stage.users[arm]
        if user_id not in users:
            users.add(user_id)
            tally.users = len(users)
        stage.generation += 1

    def pending(self) -> list[CountsToWrite]:
        """Copies of the counts not written since they last changed: finished stages
        first, then the current one."""
        now = self._clock()
        stages = [*self._finished]
        if self._stage is not None:
            stages.append(self._stage)
        return [
            CountsToWrite(_copy(stage.counts, now), stage.generation)
            for stage in stages
            if stage.generation > stage.written_generation
        ]

    def written(self, done: CountsToWrite) -> None:
        """The copy is in etcd: its stage is clean until counted again."""
        key = (done.counts.rollout_id, done.counts.stage)
        for stage in [*self._finished, self._stage]:
            if stage is not None and stage.key() == key:
                stage.written_generation = max(stage.written_generation, done.generation)
        self._finished = [s for s in self._finished if s.generation > s.written_generation]

    def _stage_of(self, rollout: records_pb2.Rollout) -> _StageCounts:
        stage = self._stage
        if stage is not None and stage.key() == (rollout.rollout_id, int(rollout.stage)):
            return stage
        if stage is not None and stage.generation > stage.written_generation:
            self._finished.append(stage)
        self._stage = _StageCounts(self.front_id, rollout)
        return self._stage


def _copy(counts: FrontCounts, at: float) -> FrontCounts:
    return replace(counts, at=at, arms={arm: replace(t) for arm, t in counts.arms.items()})
