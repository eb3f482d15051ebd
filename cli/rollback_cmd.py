"""`recmesh rollback --reason TEXT [--to VERSION]`: back to the version that served before."""

from __future__ import annotations

import argparse
from typing import Any

from cli.controlplane_client import (
    ControlPlaneClient,
    add_client_arguments,
    run_with_client,
)
from cli.output import print_json
from cli.pointer_cmd import pointer_dict


def add_parser(subparsers: Any) -> None:
    rollback = subparsers.add_parser(
        "rollback", help="point serving back at the previous (or a named) version (operator)"
    )
    rollback.add_argument("--reason", required=True, help="why; recorded in the audit log")
    rollback.add_argument(
        "--to", dest="target", default="", metavar="VERSION", help="a version that served before"
    )
    add_client_arguments(rollback, default_as=None)
    rollback.set_defaults(handler=run_rollback)


def run_rollback(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    def body(client: ControlPlaneClient) -> int:
        response = client.stub.Rollback(
            pb.RollbackRequest(reason=args.reason, target_version=args.target),
            metadata=client.metadata,
            timeout=client.timeout,
        )
        if args.json:
            print_json(
                {
                    "pointer": pointer_dict(response.pointer),
                    "previous_version": response.previous_version,
                }
            )
        else:
            print(
                f"rolled back: serving {response.previous_version} -> "
                f"{response.pointer.serving_version} (pointer revision "
                f"{response.pointer.revision})"
            )
        return 0

    return run_with_client(args, body)
