"""Append-only impression log, written off the request's critical path.

Every answer of the front becomes one JSON line: request id, trace id, user,
items with scores and candidate sources, serving version and degraded reason.
Datasets built later from what was served filter on `degraded` to keep
incidents out of experiment data. Records are queued in memory and a
background task appends them in batches; when the queue is full (the disk is
slower than the traffic) records are dropped and counted, never blocking a
request.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger("recmesh.impressions")


class ImpressionLog:
    """Queues impression records and appends them to `path` as JSON lines."""

    def __init__(self, path: Path, max_queue: int = 10_000) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_queue)
        self.dropped = 0
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def record(self, impression: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(impression)
        except asyncio.QueueFull:
            self.dropped += 1

    async def run(self) -> None:
        """Writes queued records until cancelled; flushes what is queued on the way out."""
        try:
            while True:
                first = await self._queue.get()
                self._write_batch([first, *self._drain()])
        finally:
            self._write_batch(self._drain())

    def _drain(self) -> list[dict[str, Any]]:
        batch = []
        while not self._queue.empty():
            batch.append(self._queue.get_nowait())
        return batch

    def _write_batch(self, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in batch)
        os.write(self._fd, data.encode())

    async def close(self) -> None:
        self._write_batch(self._drain())
        os.close(self._fd)
