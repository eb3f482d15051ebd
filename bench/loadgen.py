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
errors by status, degraded answers by reason, serving versions seen, and this
process's own CPU per request (`loadgen_cpu_ms_per_request`).

It is kept lean so that its own CPU takes little from the two cores the mesh
shares with it: every user's request is serialized once before the run, each call
sends those bytes and keeps the answer's bytes (no protobuf work per call), and the
answers are parsed only after the run, outside the CPU it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import grpc
import numpy as np

from bench.latency import percentiles_ms
from bench.open_loop import run_open_loop
from recmesh.api.recommend.v1 import recommend_pb2

RECOMMEND = "/recmesh.recommend.v1.RecommendService/Recommend"


def request_bytes(users: Sequence[str], k: int) -> list[bytes]:
    """Each user's RecommendRequest, serialized once before the run."""
    return [recommend_pb2.RecommendRequest(user_id=u, k=k).SerializeToString() for u in users]


def cpu_seconds() -> float:
    """This process's CPU time (user + system), all threads (grpc's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drive(
    target: str, rate: float, duration: float, users: Sequence[str], k: int, call_timeout: float
) -> dict[str, Any]:
    """Open loop. Each call sends pre-serialized bytes and keeps the answer's bytes; the
    answers are parsed after the run, outside the CPU this process reports per request
    (`loadgen_cpu_ms_per_request`: the schedule, gRPC and timing only)."""
    latencies: list[float] = []
    answers: list[bytes] = []
    errors: Counter[str] = Counter()
    total = int(rate * duration)
    requests = request_bytes(users, k)
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary(RECOMMEND, None, None)  # bytes in, bytes out
        await call(requests[0], timeout=5)

        async def one(request: bytes, scheduled: float) -> None:
            try:
                answer = await call(request, timeout=call_timeout)
            except grpc.aio.AioRpcError as exc:
                errors[exc.code().name] += 1
                return
            latencies.append(time.perf_counter() - scheduled)
            answers.append(answer)

        cpu_before = cpu_seconds()
        elapsed = await run_open_loop(
            rate, duration, lambda i, scheduled: one(requests[i % len(requests)], scheduled)
        )
        cpu = cpu_seconds() - cpu_before
    degraded: Counter[str] = Counter()
    versions: Counter[str] = Counter()
    for answer in answers:
        response = recommend_pb2.RecommendResponse.FromString(answer)
        versions[response.serving_version] += 1
        if response.degraded:
            degraded[recommend_pb2.DegradedReason.Name(response.degraded_reason)] += 1
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
        "loadgen_cpu_ms_per_request": 1000 * cpu / max(total, 1),
    }


async def drive_closed(
    target: str, duration: float, users: Sequence[str], k: int, call_timeout: float
) -> dict[str, Any]:
    """One request at a time for `duration` seconds (pre-serialized, answers unparsed)."""
    latencies: list[float] = []
    requests = request_bytes(users, k)
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary(RECOMMEND, None, None)
        await call(requests[0], timeout=5)
        cpu_before = cpu_seconds()
        end = time.perf_counter() + duration
        i = 0
        while time.perf_counter() < end:
            request = requests[i % len(requests)]
            started = time.perf_counter()
            await call(request, timeout=call_timeout)
            latencies.append(time.perf_counter() - started)
            i += 1
        cpu = cpu_seconds() - cpu_before
    return {
        "requests": len(latencies),
        **percentiles_ms(latencies),
        "loadgen_cpu_ms_per_request": 1000 * cpu / max(len(latencies), 1),
    }


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
