"""A front's counts per arm of a staged rollout (services/recommend/arm_counter.py)."""

from __future__ import annotations

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rollout.arm_counts import ArmTally
from services.recommend.arm_counter import ArmCounter


def _stage(stage: int, threshold_ms: float = 100.0) -> records_pb2.Rollout:
    return records_pb2.Rollout(rollout_id="r-1", stage=stage, latency_threshold_ms=threshold_ms)


class Named:
    """The rollout the pointer record names, as the test moves it."""

    def __init__(self, rollout: records_pb2.Rollout | None) -> None:
        self.rollout = rollout

    def __call__(self) -> records_pb2.Rollout | None:
        return self.rollout


def test_counts_requests_errors_degraded_slow_and_distinct_users_per_arm() -> None:
    counter = ArmCounter("f-1", Named(_stage(0)), clock=lambda: 5.0)
    stage = _stage(0)
    counter.count(stage, "champion", "u1", error=False, degraded=False, latency_ms=10)
    counter.count(stage, "champion", "u1", error=False, degraded=True, latency_ms=150)
    counter.count(stage, "challenger", "u2", error=True, degraded=False, latency_ms=20)
    [pending] = counter.pending()
    counts = pending.counts
    assert (counts.front, counts.rollout_id, counts.stage, counts.at) == ("f-1", "r-1", 0, 5.0)
    assert counts.arms["champion"] == ArmTally(requests=2, errors=0, degraded=1, slow=1, users=1)
    assert counts.arms["challenger"] == ArmTally(requests=1, errors=1, degraded=0, slow=0, users=1)


def test_no_threshold_counts_nothing_slow() -> None:
    counter = ArmCounter("f-1", Named(_stage(0)))
    counter.count(_stage(0, 0.0), "champion", "u1", error=False, degraded=False, latency_ms=1e6)
    assert counter.pending()[0].counts.arms["champion"].slow == 0


def test_written_counts_are_pending_again_only_once_counted_again() -> None:
    counter = ArmCounter("f-1", Named(_stage(0)))
    counter.count(_stage(0), "champion", "u1", error=False, degraded=False, latency_ms=1)
    [pending] = counter.pending()
    counter.count(_stage(0), "champion", "u2", error=False, degraded=False, latency_ms=1)
    counter.written(pending)
    [again] = counter.pending()
    assert again.counts.arms["champion"].requests == 2
    counter.written(again)
    assert counter.pending() == []


def test_a_new_stage_starts_new_counts_and_the_last_ones_are_still_written() -> None:
    counter = ArmCounter("f-1", Named(_stage(1)))
    counter.count(_stage(0), "challenger", "u1", error=False, degraded=False, latency_ms=1)
    counter.count(_stage(1), "challenger", "u1", error=False, degraded=False, latency_ms=1)
    pending = counter.pending()
    assert [(p.counts.stage, p.counts.arms["challenger"].requests) for p in pending] == [
        (0, 1),
        (1, 1),
    ]
    for done in pending:
        counter.written(done)
    assert counter.pending() == []


def _count(counter: ArmCounter, stage: int, user: str) -> None:
    counter.count(_stage(stage), "champion", user, error=False, degraded=False, latency_ms=1)


def test_a_straggler_of_the_previous_stage_adds_to_it_and_never_resets_the_new_one() -> None:
    """A request chosen in stage 0 that finishes after stage 1's requests were counted
    adds to stage 0's counts; stage 1's counts are kept and both are written."""
    named = Named(_stage(1))
    counter = ArmCounter("f-1", named)
    _count(counter, 0, "u1")
    _count(counter, 1, "u1")
    _count(counter, 1, "u2")
    _count(counter, 0, "u3")
    pending = {p.counts.stage: p.counts.arms["champion"] for p in counter.pending()}
    assert {stage: (t.requests, t.users) for stage, t in pending.items()} == {
        0: (2, 2),
        1: (2, 2),
    }


def test_every_write_of_a_stage_holds_at_least_its_last_counts() -> None:
    """Counts only grow: whatever order stragglers and writes come in, each stage's
    successive writes never go down, and a stage written for good is never recreated."""
    named = Named(_stage(0))
    counter = ArmCounter("f-1", named)
    stored: dict[int, list[int]] = {}

    def write() -> None:
        for done in counter.pending():
            stored.setdefault(done.counts.stage, []).append(done.counts.arms["champion"].requests)
            counter.written(done)

    _count(counter, 0, "u1")
    write()
    named.rollout = _stage(1)
    _count(counter, 1, "u1")
    _count(counter, 0, "u2")
    write()
    _count(counter, 0, "u3")
    _count(counter, 1, "u4")
    write()
    assert stored == {0: [1, 2], 1: [1, 2]}
    assert all(w == sorted(w) for w in stored.values())
    assert counter.dropped == 1


def test_a_stage_is_freed_once_written_and_no_longer_named() -> None:
    """Its counts and distinct-user sets go, the last stage's too once the rollout is
    cleared; the named stage stays however often it is written."""
    named = Named(_stage(0))
    counter = ArmCounter("f-1", named)
    _count(counter, 0, "u1")
    for done in counter.pending():
        counter.written(done)
    assert counter.stages == {("r-1", 0)}
    named.rollout = _stage(1)
    _count(counter, 1, "u1")
    for done in counter.pending():
        counter.written(done)
    assert counter.stages == {("r-1", 1)}
    named.rollout = None
    assert counter.pending() == []
    assert counter.stages == frozenset()
