"""What one hop costs here, back to back and after the caller idles: grpc.aio, the
synchronous grpc server, a raw TCP ping-pong, and grpc.aio as a unary call against
one message on an open bidirectional stream, each between two processes.

    python -m bench.hop_probe [--calls 300] [--gaps 0,0.005,0.015]

Each line is the p50 of `--calls` calls made one at a time, with the caller idle for
GAP seconds after each answer. Raw TCP gives the cost of the loopback network and of
a process that paused; the gRPC rows what gRPC's much longer path (more code, more
threads) costs on top, which is what makes a hop into an idle service slow on this
VM (docs/benchmarks.md, with bench/cold_work.py for the same effect without RPC).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
import numpy as np
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from bench.report import machine, ms_grid, publish
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port

SERVERS = {
    "grpc.aio": "grpc.aio health server (bench/echo.py)",
    "grpc-sync": "synchronous grpc health server",
    "tcp": "raw TCP echo (TCP_NODELAY)",
    "aio-unary": "grpc.aio unary echo, grpc.aio client (bench/stream_echo.py)",
    "aio-stream": "grpc.aio, one message on an open bidi stream, grpc.aio client",
}
PROBED_ALONE = ("grpc.aio", "grpc-sync", "tcp")


def serve_sync_grpc(port: int) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()


def serve_tcp(port: int) -> None:
    listener = socket.create_server(("127.0.0.1", port))
    connection, _ = listener.accept()
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while data := connection.recv(64):
        connection.sendall(data)


def p50_ms(call: Callable[[], object], calls: int, gap_s: float) -> float:
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)
        if gap_s > 0:
            time.sleep(gap_s)
    return float(np.percentile(np.array(latencies) * 1000, 50))


def start(mode: str, port: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "bench.hop_probe", "--serve", mode, "--port", str(port)]
    if mode == "grpc.aio":
        argv = [sys.executable, "-m", "bench.echo", "serve", str(port)]
    server = subprocess.Popen(argv, cwd=REPO_ROOT)
    time.sleep(1.0)
    return server


def probe(mode: str, calls: int, gaps: list[float]) -> dict[float, float]:
    port = free_loopback_port()
    server = start(mode, port)
    try:
        if mode == "tcp":
            client = socket.create_connection(("127.0.0.1", port))
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def call() -> object:
                client.sendall(b"x")
                return client.recv(64)

            results = {gap: p50_ms(call, calls, gap) for gap in gaps}
            client.close()
            return results
        # The client is synchronous grpc for both servers: the server is what differs.
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            request = health_pb2.HealthCheckRequest()
            stub.Check(request, timeout=5)
            return {gap: p50_ms(lambda: stub.Check(request, timeout=1), calls, gap) for gap in gaps}
    finally:
        server.terminate()
        server.wait(10)


def probe_streams(calls: int, gaps: list[float]) -> dict[str, dict[float, float]]:
    """The unary and the stream rows, from one bench/stream_echo.py server and client."""
    port = free_loopback_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.stream_echo", "serve", str(port)], cwd=REPO_ROOT
    )
    try:
        time.sleep(1.0)
        argv = [sys.executable, "-m", "bench.stream_echo", "probe", f"127.0.0.1:{port}"]
        argv += [str(calls), ",".join(str(g) for g in gaps)]
        output = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=REPO_ROOT)
        rows = json.loads(output.stdout)
        return {
            f"aio-{kind}": {g: rows[kind][f"{g * 1000:g}"] for g in gaps}
            for kind in ("unary", "stream")
        }
    finally:
        server.terminate()
        server.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hop_probe", description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--gaps", default="0,0.005,0.015", help="seconds idle after each call")
    parser.add_argument("--smoke", action="store_true", help="no files written")
    parser.add_argument("--serve", choices=["grpc-sync", "tcp"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "grpc-sync":
        serve_sync_grpc(args.port)
        return 0
    if args.serve == "tcp":
        serve_tcp(args.port)
        return 0
    gaps = [float(g) for g in args.gaps.split(",")]
    load_at_start = os.getloadavg()[0]
    print("server     " + "".join(f"  idle {g * 1000:4.0f} ms" for g in gaps) + "   (p50 ms)")
    servers: dict[str, dict[str, float]] = {}
    probed = {mode: probe(mode, args.calls, gaps) for mode in PROBED_ALONE}
    for mode, results in {**probed, **probe_streams(args.calls, gaps)}.items():
        servers[mode] = {f"{g * 1000:g}": v for g, v in results.items()}
        print(f"{mode:<10} " + "".join(f"  {results[g]:12.3f}" for g in gaps), flush=True)
    if not args.smoke:
        summary = {
            "machine": machine(),
            "calls": args.calls,
            "load_average_at_start": load_at_start,
            "p50_ms_by_idle_ms": servers,
        }
        publish("hop_probe", summary, markdown)
    return 0


def markdown(result: dict[str, Any]) -> str:
    m, servers = result["machine"], result["p50_ms_by_idle_ms"]
    return "\n".join(
        [
            "## One hop, busy or idle (`python -m bench.hop_probe`)",
            "",
            f"{m['date']}, {m['cores']} cores, {m['cpu_model']}; a client and a server "
            f"process on loopback, {result['calls']} calls one at a time, the client idle for "
            "the given time after each answer; p50 ms of a call. Load average "
            f"{result['load_average_at_start']:.1f} when it started.",
            "",
            *ms_grid("server", "idle", servers, SERVERS),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
