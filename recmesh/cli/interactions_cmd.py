"""`recmesh interactions record USER ITEM[:RATING] ...`: tell the front what a user did.

The front appends them to the interaction log; they reach recommendations with the
next `recmesh data refresh` that the control plane serves.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import grpc

from recmesh.cli.errors import report_rpc_error
from recmesh.rpc.tls import TlsConfigError, channel_credentials, tls_files


def add_parser(subparsers: Any) -> None:
    interactions = subparsers.add_parser(
        "interactions", help="record what users did (appended to the interaction log)"
    )
    commands = interactions.add_subparsers(dest="interactions_command", metavar="COMMAND",
                                           required=True)  # fmt: skip
    record = commands.add_parser("record", help="record one user's interactions with items")
    record.add_argument("user_id")
    record.add_argument(
        "items", nargs="+", metavar="ITEM[:RATING]", help="item ids, each with an optional rating"
    )
    record.add_argument(
        "--at",
        type=int,
        default=0,
        metavar="UNIX_SECONDS",
        help="when it happened (default: now, as the front's clock says)",
    )
    record.add_argument(
        "--address",
        default=os.environ.get("RECMESH_RECOMMEND", "127.0.0.1:50051"),
        help="the Recommend front (host:port)",
    )
    record.add_argument("--timeout", type=float, default=5.0, help="deadline in seconds")
    record.add_argument("--json", action="store_true", help="print one JSON object")
    record.add_argument("--tls-ca", type=Path, help="CA of the mesh (mutual TLS)")
    record.add_argument("--tls-cert", type=Path, help="client certificate (mutual TLS)")
    record.add_argument("--tls-key", type=Path, help="client private key (mutual TLS)")
    record.set_defaults(handler=run_record)


def run_record(args: argparse.Namespace) -> int:
    from recmesh.recommend.v1 import interactions_pb2, interactions_pb2_grpc

    try:
        interactions = [_interaction(args.user_id, text, args.at) for text in args.items]
    except ValueError as exc:
        print(f"recmesh interactions record: {exc}", file=sys.stderr)
        return 2
    try:
        tls = tls_files(args.tls_ca, args.tls_cert, args.tls_key)
        channel = (
            grpc.insecure_channel(args.address)
            if tls is None
            else grpc.secure_channel(args.address, channel_credentials(tls))
        )
    except TlsConfigError as exc:
        print(f"recmesh: {exc}", file=sys.stderr)
        return 2
    with channel:
        stub = interactions_pb2_grpc.InteractionLogServiceStub(channel)
        try:
            response = stub.RecordInteractions(
                interactions_pb2.RecordInteractionsRequest(
                    interactions=[interactions_pb2.Interaction(**i) for i in interactions]
                ),
                timeout=args.timeout,
            )
        except grpc.RpcError as exc:
            return report_rpc_error(exc, args.json)
    if args.json:
        print(json.dumps({"recorded": response.recorded, "log_file": response.log_file}))
    else:
        print(
            f"recorded {response.recorded} interactions of user {args.user_id} in "
            f"{response.log_file}; they serve after the next `recmesh data refresh`"
        )
    return 0


def _interaction(user_id: str, text: str, at: int) -> dict[str, Any]:
    item, _, rating = text.partition(":")
    try:
        return {
            "user_id": user_id,
            "item_id": int(item),
            "rating": float(rating) if rating else 0.0,
            "timestamp": at,
        }
    except ValueError:
        raise ValueError(f"{text!r} is not ITEM or ITEM:RATING (integers, a number)") from None
