"""Open-loop load generator for Recommend, run as its own process.

Requests leave on a fixed schedule (one every 1/rate seconds) whatever the
answers do, and each latency is counted from the request's *scheduled* send
time, so queueing anywhere (in the mesh or in this client) shows up in the
figures instead of being hidden by coordinated omission.

    python -m bench.loadgen --target 127.0.0.1:50051 --rate 200 --duration 10 \
        --users 1,2,3 [--k 10] [--timeout 1.0]
    python -m bench.loadgen --target ... --closed --duration 5 --users 1,2,3

`--closed` sends one request at a time instead (single stream): the latency of
one request through an otherwise idle mesh.

Prints one JSON object: offered and achieved rate, latency percentiles (ms),
errors by status, degraded answers by reason, serving versions seen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import grpc
import numpy as np

from bench.latency import percentiles_ms
from bench.open_loop import run_open_loop
from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc


async def drive(
    target: str, rate: float, duration: float, users: Sequence[str], k: int, call_timeout: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    degraded: Counter[str] = Counter()
    versions: Counter[str] = Counter()
    total = int(rate * duration)
    async with grpc.aio.insecure_channel(target) as channel:
        stub = recommend_pb2_grpc.RecommendServiceStub(channel)
        await stub.Recommend(recommend_pb2.RecommendRequest(user_id=users[0], k=k), timeout=5)

        async def one(user: str, scheduled: float) -> None:
            try:
                response = await stub.Recommend(
                    recommend_pb2.RecommendRequest(user_id=user, k=k), timeout=call_timeout
                )
            except grpc.aio.AioRpcError as exc:
                errors[exc.code().name] += 1
                return
            latencies.append(time.perf_counter() - scheduled)
            versions[response.serving_version] += 1
            if response.degraded:
                degraded[recommend_pb2.DegradedReason.Name(response.degraded_reason)] += 1

        elapsed = await run_open_loop(
            rate, duration, lambda i, scheduled: one(users[i % len(users)], scheduled)
        )
    values = np.array(latencies) * 1000 if latencies else np.array([float("nan")])
    return {
        "offered_rps": rate,
        "requests": total,
        "answered": len(latencies),
        "achieved_rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(values, 50)),
        "p90_ms": float(np.percentile(values, 90)),
        "p99_ms": float(np.percentile(values, 99)),
        "p999_ms": float(np.percentile(values, 99.9)),
        "max_ms": float(values.max()),
        "errors": dict(errors),
        "degraded": dict(degraded),
        "serving_versions": dict(versions),
    }


async def drive_closed(
    target: str, duration: float, users: Sequence[str], k: int, call_timeout: float
) -> dict[str, Any]:
    """One request at a time for `duration` seconds."""
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = recommend_pb2_grpc.RecommendServiceStub(channel)
        await stub.Recommend(recommend_pb2.RecommendRequest(user_id=users[0], k=k), timeout=5)
        end = time.perf_counter() + duration
        i = 0
        while time.perf_counter() < end:
            request = recommend_pb2.RecommendRequest(user_id=users[i % len(users)], k=k)
            started = time.perf_counter()
            await stub.Recommend(request, timeout=call_timeout)
            latencies.append(time.perf_counter() - started)
            i += 1
    return {"requests": len(latencies), **percentiles_ms(latencies)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--target", required=True)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--rate", type=float, help="requests per second, open loop")
    mode.add_argument("--closed", action="store_true", help="one request at a time")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--users", required=True, help="comma-separated user ids")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args(argv)
    users = args.users.split(",")
    result = asyncio.run(
        drive_closed(args.target, args.duration, users, args.k, args.timeout)
        if args.closed
        else drive(args.target, args.rate, args.duration, users, args.k, args.timeout)
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
