"""`recmesh interactions record USER ITEM[:RATING] ...`: tell the front what a user did.

The front appends them to the interaction log; they reach recommendations with the
next `recmesh data refresh` that the control plane serves.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import grpc

from cli.errors import report_rpc_error
from cli.front_client import add_front_arguments, front_channel
from recmesh.rpc.tls import TlsConfigError


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
    add_front_arguments(record, timeout_s=5.0)
    record.set_defaults(handler=run_record)


def run_record(args: argparse.Namespace) -> int:
    from recmesh.api.recommend.v1 import interactions_pb2, interactions_pb2_grpc

    try:
        interactions = [_interaction(args.user_id, text, args.at) for text in args.items]
    except ValueError as exc:
        print(f"recmesh interactions record: {exc}", file=sys.stderr)
        return 2
    try:
        channel = front_channel(args)
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
