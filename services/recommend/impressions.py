"""Append-only impression log, written off the request's critical path.

Every answer of the front becomes one JSON line: request id, trace id, user,
items with scores and candidate sources, serving version and degraded reason.
Datasets built later from what was served filter on `degraded` to keep
incidents out of experiment data. The request's path only queues its request
and response (no formatting); a background task wakes at most every
`flush_s` (0.2 s, as the span exporter), formats what has gathered and appends
it with one write. When the queue is full (the disk is slower than the
traffic) answers are dropped and counted, never blocking a request.
`impression_record` makes the record of one answer; an answer in a rollout
carries its marks (`arm`, `rollout`, `rollout_id`, and `stage` or `latency_ms` and
`error`: services/recommend/rollout_marks.py, offline/shadow/records.py), added to
its record as they are.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeAlias

import structlog

from recmesh.api.recommend.v1 import recommend_pb2
from services.recommend.answer import reason_label

log = structlog.get_logger("recmesh.impressions")


def impression_record(
    request: recommend_pb2.RecommendRequest,
    response: recommend_pb2.RecommendResponse,
    at: float,
    marks: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The impression of `response` to `request`, answered at `at` (seconds since the
    epoch), with the rollout's `marks` when it has some: one line of the log."""
    record = {
        "request_id": response.request_id,
        "trace_id": response.trace_id,
        "at": at,
        "user_id": request.user_id,
        "k": request.k,
        "context": dict(request.context),
        "items": [
            {"item_id": it.item_id, "score": it.score, "source": it.source} for it in response.items
        ],
        "serving_version": response.serving_version,
        "degraded": response.degraded,
        "degraded_reason": reason_label(response.degraded_reason) if response.degraded else "",
    }
    if marks:
        record.update(marks)
    return record


#: Answers formatted and written between two turns of the event loop (about 2 ms of
#: formatting at k=10).
WRITE_SLICE = 64

#: One answer to log: its request, its response, when it was answered, its marks.
Answer: TypeAlias = tuple[
    recommend_pb2.RecommendRequest,
    recommend_pb2.RecommendResponse,
    float,
    Mapping[str, Any] | None,
]


class ImpressionLog:
    """Queues answers and appends their impressions to `path` as JSON lines, in batches."""

    def __init__(self, path: Path, max_queue: int = 10_000, flush_s: float = 0.2) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._queue: asyncio.Queue[Answer] = asyncio.Queue(max_queue)
        self._flush_s = flush_s
        self.dropped = 0
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def record(
        self,
        request: recommend_pb2.RecommendRequest,
        response: recommend_pb2.RecommendResponse,
        at: float,
        marks: Mapping[str, Any] | None = None,
    ) -> None:
        """Queues one answer (answered at `at`, seconds since the epoch, with the
        rollout's `marks`); never blocks."""
        try:
            self._queue.put_nowait((request, response, at, marks))
        except asyncio.QueueFull:
            self.dropped += 1

    async def run(self) -> None:
        """Writes queued answers until cancelled: after the first of a batch arrives it
        waits `flush_s` for more, then formats and appends them all; flushes what is
        queued on the way out."""
        taken: list[Answer] = []
        try:
            while True:
                taken = [await self._queue.get()]
                await asyncio.sleep(self._flush_s)
                taken += self._drain()
                while taken:
                    # A slice at a time, handing the loop back between slices, so a
                    # large batch never holds up the requests in flight for long.
                    self._write_batch(taken[:WRITE_SLICE])
                    del taken[:WRITE_SLICE]
                    await asyncio.sleep(0)
        finally:
            self._write_batch([*taken, *self._drain()])

    def _drain(self) -> list[Answer]:
        batch = []
        while not self._queue.empty():
            batch.append(self._queue.get_nowait())
        return batch

    def _write_batch(self, batch: list[Answer]) -> None:
        if not batch:
            return
        data = "".join(
            json.dumps(impression_record(*answer), separators=(",", ":")) + "\n" for answer in batch
        )
        os.write(self._fd, data.encode())

    async def close(self) -> None:
        self._write_batch(self._drain())
        os.close(self._fd)


class DiscardingImpressionLog(ImpressionLog):
    """An impression log switched off (`--telemetry-off impressions`): records are
    dropped as they come, nothing is opened or written."""

    def __init__(self) -> None:
        self.dropped = 0

    def record(
        self,
        request: recommend_pb2.RecommendRequest,
        response: recommend_pb2.RecommendResponse,
        at: float,
        marks: Mapping[str, Any] | None = None,
    ) -> None:
        pass

    async def run(self) -> None:
        await asyncio.Event().wait()  # a background task that ends only when cancelled

    async def close(self) -> None:
        pass
