"""`recmesh whoami`: the principal and roles the control plane sees."""

from __future__ import annotations

import argparse
from typing import Any

from cli.controlplane_client import (
    ControlPlaneClient,
    add_client_arguments,
    run_with_client,
)
from cli.output import print_json


def add_parser(subparsers: Any) -> None:
    whoami = subparsers.add_parser("whoami", help="who the control plane thinks you are")
    add_client_arguments(whoami, default_as=None)
    whoami.set_defaults(handler=run_whoami)


def run_whoami(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    def body(client: ControlPlaneClient) -> int:
        response = client.stub.WhoAmI(
            pb.WhoAmIRequest(), metadata=client.metadata, timeout=client.timeout
        )
        if args.json:
            print_json({"principal": response.principal, "roles": list(response.roles)})
        else:
            print(f"{response.principal} ({', '.join(response.roles)})")
        return 0

    return run_with_client(args, body)
