"""Writing a front's counts per arm (services/recommend/arm_counts_writer.py)."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rollout.arm_counts import FrontCounts
from services.recommend.arm_counter import ArmCounter
from services.recommend.arm_counts_writer import ArmCountsWriter

STAGE = records_pb2.Rollout(rollout_id="r-1", stage=2)


class FlakyPut:
    """Fails the first `failures` puts with OSError, then stores."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.stored: dict[str, bytes] = {}

    async def __call__(self, key: str, value: bytes) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise OSError("etcd unreachable")
        self.stored[key] = value


def test_a_failed_write_is_logged_and_written_at_the_next_tick() -> None:
    """The counts stay pending after the failure; the next flush puts them, cumulative, at
    the front's key of the stage."""

    async def main() -> None:
        counter = ArmCounter("f-1", lambda: STAGE)
        put = FlakyPut(failures=1)
        writer = ArmCountsWriter(counter, KeySchema(), put)
        counter.count(STAGE, "challenger", "u1", error=False, degraded=False, latency_ms=1)
        with capture_logs() as logs:
            assert not await writer.flush()
        assert [e["event"] for e in logs] == ["arm_counts_write_failed"]
        counter.count(STAGE, "challenger", "u2", error=False, degraded=False, latency_ms=1)
        assert await writer.flush()
        key = KeySchema().rollout_arm_counts("r-1", 2, "f-1")
        assert FrontCounts.decode(put.stored[key]).arms["challenger"].requests == 2
        assert counter.pending() == []

    asyncio.run(main())
