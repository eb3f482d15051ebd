"""`recmesh replay`: drive the front with open-loop traffic and say what answered.

For watching a shadow or a staged rollout from the outside (which arm answered how
often, degraded answers, failures, latency), and for the demo.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
from typing import Any

import grpc

from cli.front_client import add_front_arguments
from recmesh.rpc.tls import TlsConfigError, channel_credentials, tls_files


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay", help="send open-loop Recommend traffic and count what answered"
    )
    parser.add_argument(
        "--users",
        default="1-943",
        help="user ids: A-B (inclusive) or a comma-separated list (default: ml-100k's 1-943)",
    )
    parser.add_argument("--rps", type=float, default=50.0, help="requests a second (default 50)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="the users' order (default 0)")
    add_front_arguments(parser, timeout_s=2.0)
    parser.set_defaults(handler=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    from cli.replay_traffic import parse_users

    if args.rps <= 0 or args.duration <= 0:
        print("recmesh: --rps and --duration must be positive", file=sys.stderr)
        return 2
    try:
        users = parse_users(args.users)
        tls = tls_files(args.tls_ca, args.tls_cert, args.tls_key)
    except (ValueError, TlsConfigError) as exc:
        print(f"recmesh: {exc}", file=sys.stderr)
        return 2
    summary = asyncio.run(_replay(args, users, tls))
    if args.json:
        print(json.dumps(summary, sort_keys=True))
        return 0
    arms = ", ".join(f"{arm} {count}" for arm, count in sorted(summary["arms"].items()))
    print(
        f"sent {summary['sent']} requests at {args.rps:g}/s: answered {summary['answered']} "
        f"({arms or 'none'}), degraded {summary['degraded']}, failed "
        f"{sum(summary['failures'].values())} {summary['failures'] or ''}".rstrip()
    )
    versions = ", ".join(f"{v} {n}" for v, n in sorted(summary["serving_versions"].items()))
    print(f"serving versions: {versions or 'none'}")
    print(f"latency p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms")
    return 0


async def _replay(args: argparse.Namespace, users: list[str], tls: Any) -> dict[str, Any]:
    from cli.replay_traffic import replay

    # Interrupted (Ctrl-C, or a script ending its background traffic), the command stops
    # sending, waits for the answers on their way and still prints what it saw.
    stop = asyncio.Event()
    if threading.current_thread() is threading.main_thread():
        # Signal handlers belong to the main thread (a caller running the command in
        # another thread keeps its own handling).
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)

    channel = (
        grpc.aio.insecure_channel(args.address)
        if tls is None
        else grpc.aio.secure_channel(args.address, channel_credentials(tls))
    )
    async with channel:
        tally = await replay(
            channel,
            users,
            rps=args.rps,
            duration_s=args.duration,
            k=args.k,
            timeout_s=args.timeout,
            seed=args.seed,
            stop=stop,
        )
    return tally.as_dict()
