"""A front's counts per arm of a staged rollout, kept as requests are answered.

Every request answered and counted in a staged rollout (services/recommend/arms.py
says which are: nothing before the front has held the challenger for its warm-up)
is counted for its arm (recmesh/rollout/arm_counts.py): requests, errors (the front
answered with a non-OK status after choosing the arm), degraded answers, answers
slower than the rollout's `latency_threshold_ms` (when it is > 0) and distinct users.

Counts are kept per (rollout id, stage), cumulative since this front first counted
in that stage, and only ever grow: a request is counted for the stage its arm was
chosen in, even when it finishes after the pointer moved to the next stage (a
straggler adds to the old stage's counts, never replaces the new stage's). The
writer (services/recommend/arm_counts_writer.py) takes `pending()` about once a
second, every stage whose counts changed, and confirms with `written`. A stage's
counts, distinct-user sets included, are freed once they are written and the
rollout the registry names (`named`) is another stage; the stage is then retired
and never counted again (a request finishing later is dropped, not counted into
fresh counts that would overwrite the etcd key with smaller numbers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rollout.arm_counts import ARMS, FrontCounts

log = structlog.get_logger("recmesh.recommend.arm_counts")

#: (rollout id, stage)
StageKey = tuple[str, int]

#: The rollout the pointer record names now (None: none).
NamedRollout = Callable[[], records_pb2.Rollout | None]


@dataclass(frozen=True)
class CountsToWrite:
    """A copy of one stage's counts; `generation` tells `written` which counts it was."""

    counts: FrontCounts
    generation: int


class _StageCounts:
    def __init__(self, front: str, key: StageKey) -> None:
        self.counts = FrontCounts(front, key[0], key[1], 0.0)
        self.users: dict[str, set[str]] = {arm: set() for arm in ARMS}
        self.generation = 0
        self.written_generation = 0

    @property
    def clean(self) -> bool:
        return self.generation <= self.written_generation


def _key(rollout: records_pb2.Rollout) -> StageKey:
    return rollout.rollout_id, int(rollout.stage)


class ArmCounter:
    """Counts per arm of every stage the front answers in (one front, `front_id`)."""

    def __init__(
        self, front_id: str, named: NamedRollout, clock: Callable[[], float] = time.time
    ) -> None:
        self.front_id = front_id
        self._named = named
        self._clock = clock
        self._stages: dict[StageKey, _StageCounts] = {}
        self._retired: set[StageKey] = set()
        self.dropped = 0

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
        """Counts one request the arm answered (or failed, `error`) in `rollout`'s
        stage; dropped when that stage's counts were already written for good."""
        key = _key(rollout)
        stage = self._stages.get(key)
        if stage is None:
            if key in self._retired:
                self.dropped += 1
                log.debug("arm_count_after_stage_retired", rollout_id=key[0], stage=key[1])
                return
            stage = self._stages[key] = _StageCounts(self.front_id, key)
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

    @property
    def stages(self) -> frozenset[StageKey]:
        """The stages whose counts (and distinct-user sets) this counter holds."""
        return frozenset(self._stages)

    def pending(self) -> list[CountsToWrite]:
        """Copies of every stage's counts not written since they last changed (a stage
        written for good is freed first)."""
        self._free_finished()
        now = self._clock()
        return [
            CountsToWrite(_copy(stage.counts, now), stage.generation)
            for stage in self._stages.values()
            if not stage.clean
        ]

    def written(self, done: CountsToWrite) -> None:
        """The copy is in etcd: its stage is clean until counted again, and freed (then
        retired) when clean and no longer the named rollout's stage."""
        key = (done.counts.rollout_id, done.counts.stage)
        stage = self._stages.get(key)
        if stage is not None:
            stage.written_generation = max(stage.written_generation, done.generation)
        self._free_finished()

    def _free_finished(self) -> None:
        named = self._named()
        current = None if named is None else _key(named)
        for key in [k for k, s in self._stages.items() if s.clean and k != current]:
            del self._stages[key]
            self._retired.add(key)


def _copy(counts: FrontCounts, at: float) -> FrontCounts:
    return replace(counts, at=at, arms={arm: replace(t) for arm, t in counts.arms.items()})
