"""The impression record of one answer, and the log that writes them in batches off the
request's path (services/recommend/impressions.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from recmesh.api.recommend.v1 import recommend_pb2
from services.recommend import impressions
from services.recommend.impressions import WRITE_SLICE, ImpressionLog, impression_record


def test_the_record_names_the_request_the_items_the_version_and_the_reason() -> None:
    request = recommend_pb2.RecommendRequest(user_id="196", k=2, context={"page": "home"})
    response = recommend_pb2.RecommendResponse(
        items=[
            recommend_pb2.RecommendedItem(item_id=7, score=0.5, title="A", source="cf"),
            recommend_pb2.RecommendedItem(item_id=3, score=0.25, title="B", source="popular"),
        ],
        serving_version="sv-1",
        degraded=True,
        degraded_reason=recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
        degraded_detail="ranking: UNAVAILABLE: down",
        request_id="r1",
        trace_id="t1",
    )
    assert impression_record(request, response, 1234.5) == {
        "request_id": "r1",
        "trace_id": "t1",
        "at": 1234.5,
        "user_id": "196",
        "k": 2,
        "context": {"page": "home"},
        "items": [
            {"item_id": 7, "score": 0.5, "source": "cf"},
            {"item_id": 3, "score": 0.25, "source": "popular"},
        ],
        "serving_version": "sv-1",
        "degraded": True,
        "degraded_reason": "ranking_unavailable",
    }


def test_a_normal_answer_has_no_reason() -> None:
    request = recommend_pb2.RecommendRequest(user_id="1", k=1)
    response = recommend_pb2.RecommendResponse(serving_version="sv-1")
    record = impression_record(request, response, 0.0)
    assert (record["degraded"], record["degraded_reason"], record["items"]) == (False, "", [])


def test_a_rollouts_marks_are_added_to_the_record() -> None:
    """A staged answer's arm, rollout, rollout id and stage become fields of its line."""
    request = recommend_pb2.RecommendRequest(user_id="1", k=1)
    response = recommend_pb2.RecommendResponse(serving_version="sv-2", arm="challenger")
    marks = {"arm": "challenger", "rollout": "staged", "rollout_id": "r-1", "stage": 1}
    record = impression_record(request, response, 0.0, marks)
    assert {name: record[name] for name in marks} == marks
    assert record["serving_version"] == "sv-2"


def _answer(n: int) -> tuple[recommend_pb2.RecommendRequest, recommend_pb2.RecommendResponse]:
    return (
        recommend_pb2.RecommendRequest(user_id=str(n), k=1),
        recommend_pb2.RecommendResponse(
            items=[recommend_pb2.RecommendedItem(item_id=n, score=1.0, source="cf")],
            serving_version="sv-1",
            request_id=f"r{n}",
        ),
    )


def test_answers_gathered_within_the_flush_interval_are_written_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording formats and writes nothing; the writer appends what gathered within the
    flush interval together, and what it holds or is still queued when it stops (the
    answer it was waiting to batch, too) is written on the way out, in order."""
    path = tmp_path / "impressions.jsonl"
    formatted: list[str] = []

    def counting(
        request: recommend_pb2.RecommendRequest,
        response: recommend_pb2.RecommendResponse,
        at: float,
        marks: Mapping[str, Any] | None = None,
    ) -> dict[str, object]:
        formatted.append(response.request_id)
        return impression_record(request, response, at, marks)

    monkeypatch.setattr(impressions, "impression_record", counting)

    def lines() -> list[str]:
        return path.read_text().splitlines()

    async def main() -> None:
        log = ImpressionLog(path, flush_s=0.05)
        writer = asyncio.create_task(log.run())
        for n in range(5):
            log.record(*_answer(n), float(n))
        assert (formatted, lines()) == ([], [])  # nothing formatted on the request's path
        await asyncio.sleep(0.3)
        assert len(lines()) == 5
        log.record(*_answer(5), 5.0)
        await asyncio.sleep(0)  # the writer takes it and waits for more
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await log.close()

    asyncio.run(main())
    records = [json.loads(line) for line in lines()]
    assert [r["request_id"] for r in records] == [f"r{n}" for n in range(6)]
    assert records[3]["at"] == 3.0


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    async def main() -> int:
        log = ImpressionLog(tmp_path / "impressions.jsonl", max_queue=2)
        for n in range(5):
            log.record(*_answer(n), 0.0)
        await log.close()
        return log.dropped

    assert asyncio.run(main()) == 3


def test_a_large_batch_is_written_a_slice_at_a_time(tmp_path: Path) -> None:
    """Between two slices the writer hands the loop back: a task scheduled meanwhile
    runs before the whole batch is written."""
    path = tmp_path / "impressions.jsonl"
    seen: list[int] = []

    async def main() -> None:
        log = ImpressionLog(path, flush_s=0.01)
        writer = asyncio.create_task(log.run())
        for n in range(3 * WRITE_SLICE):
            log.record(*_answer(n), 0.0)
        while not seen or seen[-1] == 0:  # spins until the writer's first slice lands
            await asyncio.sleep(0)
            seen.append(len(path.read_text().splitlines()))
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await log.close()

    asyncio.run(main())
    assert seen[-1] == WRITE_SLICE, seen
    assert len(path.read_text().splitlines()) == 3 * WRITE_SLICE
