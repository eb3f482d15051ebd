"""The floor of the mesh's design on this machine: its four hops with no work in them.

    python -m bench.chain [--rates 50,100,200,400] [--duration 5] [--smoke]

Four grpc.aio processes wired like the mesh (caller -> front; front -> candidates,
then front -> ranking; ranking -> features), each answering a raw-bytes unary call
with replies the size of the mesh's (candidates ~6.5 KB, the ranking request carrying
them, features a 500 x 45 float32 matrix, 90 KB), and doing nothing else: no
protobuf, no tracing, no interceptors, no model. The caller runs in its own process,
one call at a time (single stream) and then open loop at each rate, latency from the
scheduled send time. Whatever the mesh cannot beat here is what the design (four
gRPC processes in series) costs on this machine.

The same is then measured without the ranking -> features hop (three processes:
features computed inside ranking), the design change docs/benchmarks.md weighs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

import grpc

from bench.latency import percentiles_ms
from bench.open_loop import run_open_loop
from bench.report import machine, publish
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_ports

METHOD = "/recmesh.bench.Chain/Call"
CANDIDATES_BYTES = 500 * (8 + 4 + 1)  # item ids, source scores, source indices
FEATURES_BYTES = 500 * 45 * 4
ANSWER_BYTES = 10 * (8 + 4 + 40)  # ten items with scores and titles


async def serve(role: str, port: int, downstream: list[str]) -> None:
    channels = [grpc.aio.insecure_channel(target) for target in downstream]
    calls = [channel.unary_unary(METHOD, None, None) for channel in channels]
    replies = {
        "candidates": bytes(CANDIDATES_BYTES),
        "features": bytes(FEATURES_BYTES),
        "ranking": bytes(ANSWER_BYTES),
        "front": bytes(ANSWER_BYTES),
    }

    async def handle(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        if role == "front":  # candidates, then ranking with what candidates found
            found = await calls[0](b"user", timeout=1)
            await calls[1](found, timeout=1)
        elif role == "ranking" and calls:  # features for the candidates it was sent
            await calls[0](request, timeout=1)
        return replies[role]

    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "recmesh.bench.Chain", {"Call": grpc.unary_unary_rpc_method_handler(handle)}
            )
        ]
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


async def drive(target: str, rate: float, duration: float) -> dict[str, Any]:
    """Open loop at `rate` for `duration` s; with rate 0, one call at a time."""
    latencies: list[float] = []
    errors = 0
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary(METHOD, None, None)
        await call(b"warm-up", timeout=5)
        if rate == 0:
            end = time.perf_counter() + duration
            while time.perf_counter() < end:
                started = time.perf_counter()
                await call(b"user", timeout=1)
                latencies.append(time.perf_counter() - started)
            return {"offered_rps": 0.0, "errors": 0, **percentiles_ms(latencies)}

        async def one(scheduled: float) -> None:
            nonlocal errors
            try:
                await call(b"user", timeout=1)
            except grpc.aio.AioRpcError:
                errors += 1
                return
            latencies.append(time.perf_counter() - scheduled)

        await run_open_loop(rate, duration, lambda _, scheduled: one(scheduled))
    return {
        "offered_rps": rate,
        "errors": errors,
        **percentiles_ms(latencies or [float("nan")]),
    }


TOPOLOGIES: dict[str, dict[str, list[str]]] = {
    # role -> the roles it calls; leaves first
    "mesh": {
        "candidates": [],
        "features": [],
        "ranking": ["features"],
        "front": ["candidates", "ranking"],
    },
    "without_features_hop": {
        "candidates": [],
        "ranking": [],
        "front": ["candidates", "ranking"],
    },
}


def start_chain(topology: str) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """The processes of a topology, leaves first; returns the front's address and them."""
    downstream = TOPOLOGIES[topology]
    ports = dict(zip(downstream, free_loopback_ports(len(downstream)), strict=True))
    processes = []
    for role, port in ports.items():
        targets = [f"127.0.0.1:{ports[d]}" for d in downstream[role]]
        argv = [sys.executable, "-m", "bench.chain", "--serve", role, "--port", str(port)]
        processes.append(subprocess.Popen([*argv, *targets], cwd=REPO_ROOT))
    time.sleep(1.5)
    return f"127.0.0.1:{ports['front']}", processes


def measure(topology: str, rates: list[float], duration: float) -> dict[str, Any]:
    """Single stream, then each rate, through a fresh chain of `topology`."""
    target, processes = start_chain(topology)
    label = f"{len(TOPOLOGIES[topology])} processes, no work"
    try:
        single = run_driver(target, 0.0, duration)
        print(
            f"{label}, single stream: p50 {single['p50_ms']:.2f} ms, p99 {single['p99_ms']:.2f} ms",
            flush=True,
        )
        results = []
        for rate in rates:
            r = run_driver(target, rate, duration)
            results.append(r)
            print(
                f"{label}, {rate:5.0f} rps offered: p50 {r['p50_ms']:.2f} ms, "
                f"p99 {r['p99_ms']:.2f} ms, errors {r['errors']}",
                flush=True,
            )
        return {"single_stream": single, "rates": results}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


def run_driver(target: str, rate: float, duration: float) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.chain", "--drive", target]
    done = subprocess.run(
        [*argv, "--rate", str(rate), "--duration", str(duration)],
        cwd=REPO_ROOT,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chain", description=__doc__)
    parser.add_argument("--rates", default="50,100,200,400")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--smoke", action="store_true", help="one short rate")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("downstream", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.port, args.downstream))
        return 0
    if args.drive:
        print(json.dumps(asyncio.run(drive(args.drive, args.rate, args.duration))))
        return 0
    rates = [50.0] if args.smoke else [float(r) for r in args.rates.split(",")]
    duration = 1.0 if args.smoke else args.duration
    load_at_start = os.getloadavg()[0]
    mesh = measure("mesh", rates, duration)
    without = measure("without_features_hop", rates, duration)
    if not args.smoke:
        summary = {
            "machine": machine(),
            "duration_s": duration,
            "load_average_at_start": load_at_start,
            **mesh,
            "without_features_hop": without,
        }
        publish("chain", summary, markdown)
    return 0


def markdown(result: dict[str, Any]) -> str:
    m, three = result["machine"], result["without_features_hop"]

    def row(label: str, four: dict[str, Any], other: dict[str, Any]) -> str:
        return (
            f"| {label} | {four['p50_ms']:.2f} | {four['p99_ms']:.2f} | {four['errors']} "
            f"| {other['p50_ms']:.2f} | {other['p99_ms']:.2f} | {other['errors']} |"
        )

    lines = [
        "## The design's floor: four hops, no work (`python -m bench.chain`)",
        "",
        f"{m['date']}, {m['cores']} cores, {m['cpu_model']}; grpc.aio processes wired "
        "like the mesh, replies the size of the mesh's, no work, no protobuf, no tracing; "
        f"{result['duration_s']} s per rate; load average {result['load_average_at_start']:.1f} "
        "when it started. Left: the mesh's four processes; right: three, without the "
        "ranking -> features hop (features computed inside ranking).",
        "",
        "| offered rps | p50 ms | p99 ms | errors | p50 ms, 3 processes | p99 ms, 3 processes "
        "| errors, 3 processes |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        row("single stream", result["single_stream"], three["single_stream"]),
        *(
            row(f"{four['offered_rps']:.0f}", four, other)
            for four, other in zip(result["rates"], three["rates"], strict=True)
        ),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
