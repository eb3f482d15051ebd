"""`recmesh recommend USER [-k K] [--json]` and `recmesh trace TRACE_ID`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import grpc

from cli.errors import report_rpc_error
from cli.front_client import add_front_arguments, front_channel
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.rpc.tls import TlsConfigError

DEFAULT_SPAN_FILE = REPO_ROOT / "var" / "spans.jsonl"


def add_parser(subparsers: Any) -> None:
    recommend = subparsers.add_parser("recommend", help="ask the mesh for recommendations")
    recommend.add_argument("user_id")
    recommend.add_argument("-k", type=int, default=10)
    add_front_arguments(recommend, timeout_s=2.0)
    recommend.set_defaults(handler=run_recommend)

    trace = subparsers.add_parser("trace", help="print the span tree of one request")
    trace.add_argument("trace_id")
    trace.add_argument("--span-file", type=Path, default=DEFAULT_SPAN_FILE)
    trace.add_argument(
        "--wait",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="wait up to this long for every hop's spans to be flushed (default 5)",
    )
    trace.set_defaults(handler=run_trace)


def run_recommend(args: argparse.Namespace) -> int:
    from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc

    try:
        channel = front_channel(args)
    except TlsConfigError as exc:
        print(f"recmesh: {exc}", file=sys.stderr)
        return 2
    with channel:
        stub = recommend_pb2_grpc.RecommendServiceStub(channel)
        try:
            response = stub.Recommend(
                recommend_pb2.RecommendRequest(user_id=args.user_id, k=args.k),
                timeout=args.timeout,
            )
        except grpc.RpcError as exc:
            return report_rpc_error(exc, args.json)
    reason = (
        recommend_pb2.DegradedReason.Name(response.degraded_reason)
        .removeprefix("DEGRADED_REASON_")
        .lower()
        if response.degraded
        else ""
    )
    if args.json:
        print(
            json.dumps(
                {
                    "user_id": args.user_id,
                    "items": [
                        {
                            "item_id": item.item_id,
                            "external_id": item.external_id,
                            "score": item.score,
                            "title": item.title,
                            "source": item.source,
                        }
                        for item in response.items
                    ],
                    "serving_version": response.serving_version,
                    "arm": response.arm,
                    "degraded": response.degraded,
                    "degraded_reason": reason,
                    "degraded_detail": response.degraded_detail,
                    "request_id": response.request_id,
                    "trace_id": response.trace_id,
                }
            )
        )
        return 0
    # During a staged rollout the answer names its arm: which of the two versions a user
    # sees is the stage's to decide, and the reader should know.
    arm = f", {response.arm} arm of a staged rollout" if response.arm else ""
    print(
        f"recommendations for user {args.user_id} (serving version {response.serving_version}{arm})"
    )
    for rank, item in enumerate(response.items, start=1):
        # The dataset's own id when its ids are strings (a track URI), else the integer id.
        label = item.title or item.external_id or str(item.item_id)
        if item.title and item.external_id:
            label = f"{item.title} <{item.external_id}>"
        print(f"{rank:3d}. {item.score:9.4f}  {label}  [{item.source}]")
    if response.degraded:
        print(f"degraded: {reason}: {response.degraded_detail}")
    print(f"trace id: {response.trace_id}")
    return 0


def run_trace(args: argparse.Namespace) -> int:
    from recmesh.traces.span_tree import is_complete, render_tree, wait_for_trace

    if not args.span_file.exists():
        print(
            f"no span file at {args.span_file}; is the mesh running (recmesh up)?", file=sys.stderr
        )
        return 1
    roots = wait_for_trace(args.span_file, args.trace_id, args.wait)
    if not roots:
        print(
            f"no spans of trace {args.trace_id} in {args.span_file} after {args.wait:g} s",
            file=sys.stderr,
        )
        return 1
    print(render_tree(roots))
    if not is_complete(roots):
        print(
            f"(incomplete after {args.wait:g} s: a hop's spans have not reached "
            f"{args.span_file}; run again to see them)",
            file=sys.stderr,
        )
    return 0
