"""`recmesh promote EXP`: move the serving pointer to the experiment's challenger."""

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
    promote = subparsers.add_parser(
        "promote", help="promote an approved experiment's challenger (operator)"
    )
    promote.add_argument("experiment_id", metavar="EXP")
    add_client_arguments(promote, default_as=None)
    promote.set_defaults(handler=run_promote)


def run_promote(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    def body(client: ControlPlaneClient) -> int:
        response = client.stub.Promote(
            pb.PromoteRequest(experiment_id=args.experiment_id),
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
                f"promoted {args.experiment_id}: serving {response.previous_version} -> "
                f"{response.pointer.serving_version} (pointer revision "
                f"{response.pointer.revision})"
            )
        return 0

    return run_with_client(args, body)
