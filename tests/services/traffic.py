"""A bounded stream of Recommend calls for tests that change the mesh under load."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import grpc

from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc


@dataclass(frozen=True)
class Outcome:
    started: float
    finished: float
    response: recommend_pb2.RecommendResponse | None
    error: grpc.aio.AioRpcError | None


@dataclass
class Traffic:
    """Sends Recommend for rotating users at about `rate` per second until stopped."""

    address: str
    users: tuple[str, ...]
    rate: float = 100.0
    k: int = 10
    timeout_s: float = 2.0
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, max_requests: int = 5000) -> None:
        async with grpc.aio.insecure_channel(self.address) as channel:
            stub = recommend_pb2_grpc.RecommendServiceStub(channel)
            pending: set[asyncio.Task[None]] = set()
            for n in range(max_requests):
                if self._stop.is_set():
                    break
                task = asyncio.create_task(self._one(stub, self.users[n % len(self.users)]))
                pending.add(task)
                task.add_done_callback(pending.discard)
                await asyncio.sleep(1 / self.rate)
            await asyncio.gather(*pending)

    def stop(self) -> None:
        self._stop.set()

    async def _one(self, stub: recommend_pb2_grpc.RecommendServiceAsyncStub, user: str) -> None:
        started = time.monotonic()
        try:
            response = await stub.Recommend(
                recommend_pb2.RecommendRequest(user_id=user, k=self.k), timeout=self.timeout_s
            )
            self.outcomes.append(Outcome(started, time.monotonic(), response, None))
        except grpc.aio.AioRpcError as exc:
            self.outcomes.append(Outcome(started, time.monotonic(), None, exc))

    def errors(self) -> list[grpc.aio.AioRpcError]:
        return [o.error for o in self.outcomes if o.error is not None]

    def responses(self) -> list[recommend_pb2.RecommendResponse]:
        return [o.response for o in self.outcomes if o.response is not None]
