"""A front's counts per arm of a staged rollout (services/recommend/arm_counter.py)."""

from __future__ import annotations

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rollout.arm_counts import ArmTally
from services.recommend.arm_counter import ArmCounter


def _stage(stage: int, threshold_ms: float = 100.0) -> records_pb2.Rollout:
    return records_pb2.Rollout(rollout_id="r-1", stage=stage, latency_threshold_ms=threshold_ms)


def test_counts_requests_errors_degraded_slow_and_distinct_users_per_arm() -> None:
    counter = ArmCounter("f-1", clock=lambda: 5.0)
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
    counter = ArmCounter("f-1")
    counter.count(_stage(0, 0.0), "champion", "u1", error=False, degraded=False, latency_ms=1e6)
    assert counter.pending()[0].counts.arms["champion"].slow == 0


def test_written_counts_are_pending_again_only_once_counted_again() -> None:
    counter = ArmCounter("f-1")
    counter.count(_stage(0), "champion", "u1", error=False, degraded=False, latency_ms=1)
    [pending] = counter.pending()
    counter.count(_stage(0), "champion", "u2", error=False, degraded=False, latency_ms=1)
    counter.written(pending)
    [again] = counter.pending()
    assert again.counts.arms["champion"].requests == 2
    counter.written(again)
    assert counter.pending() == []


def test_a_new_stage_starts_new_counts_and_the_last_ones_are_still_written() -> None:
    counter = ArmCounter("f-1")
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
