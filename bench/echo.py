"""The floor: one gRPC hop on this machine, a grpc.aio server answering a tiny unary call.

    python -m bench.echo serve PORT          # the server (its own process)
    python -m bench.echo drive TARGET RATE DURATION   # open-loop client, prints JSON
    python -m bench.echo closed TARGET GAP_S CALLS    # one call at a time, GAP_S apart

The call is the standard health Check (an empty-ish request and response), so the
figure is what any grpc.aio hop costs here before any work is done. `closed` with a
gap of 0 is a hop between two busy processes; with a gap of ~15 ms it is a hop into
a process that sat idle in between, as each service of the mesh does when requests
come one at a time (on this VM a process that paused runs slower for a while, and a
gRPC hop slows down more than most work: docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from bench.latency import percentiles_ms
from bench.open_loop import run_open_loop


async def serve(port: int) -> None:
    server = grpc.aio.server()
    servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    await server.wait_for_termination()


@contextlib.asynccontextmanager
async def checker(target: str) -> AsyncIterator[Callable[[], Awaitable[object]]]:
    """A function making one health Check on a connected, warmed-up channel."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest()
        await stub.Check(request, timeout=5)

        async def check() -> object:
            return await stub.Check(request, timeout=1)

        yield check


async def drive(target: str, rate: float, duration: float) -> dict[str, float]:
    latencies: list[float] = []
    async with checker(target) as check:

        async def one(scheduled: float) -> None:
            await check()
            latencies.append(time.perf_counter() - scheduled)

        await run_open_loop(rate, duration, lambda _, scheduled: one(scheduled))
    return {"offered_rps": rate, **percentiles_ms(latencies)}


async def drive_closed(target: str, gap_s: float, calls: int) -> dict[str, float]:
    """One call at a time; after each answer the client idles gap_s."""
    latencies: list[float] = []
    async with checker(target) as check:
        for _ in range(calls):
            started = time.perf_counter()
            await check()
            latencies.append(time.perf_counter() - started)
            if gap_s > 0:
                await asyncio.sleep(gap_s)
    return {"gap_ms": gap_s * 1000, **percentiles_ms(latencies)}


def main() -> int:
    mode = sys.argv[1]
    if mode == "serve":
        asyncio.run(serve(int(sys.argv[2])))
        return 0
    if mode == "closed":
        result = asyncio.run(drive_closed(sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
    else:
        result = asyncio.run(drive(sys.argv[2], float(sys.argv[3]), float(sys.argv[4])))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
