"""`recmesh pointer [--watch] [--json]`: which serving version answers users."""

from __future__ import annotations

import argparse
from typing import Any

from recmesh.cli.controlplane_client import (
    ControlPlaneClient,
    add_client_arguments,
    run_with_client,
)
from recmesh.cli.output import print_json, when


def add_parser(subparsers: Any) -> None:
    pointer = subparsers.add_parser("pointer", help="show (or --watch) the serving pointer")
    pointer.add_argument("--watch", action="store_true", help="print every change until Ctrl-C")
    add_client_arguments(pointer, default_as="serving")
    pointer.set_defaults(handler=run_pointer)


def pointer_dict(pointer: Any) -> dict[str, Any]:
    return {
        "serving_version": pointer.serving_version,
        "revision": int(pointer.revision),
        "manifest_sha256": pointer.manifest_sha256,
        "experiment_id": pointer.experiment_id,
        "set_by": pointer.set_by,
        "set_at": when(pointer.set_at),
        "reason": pointer.reason,
    }


def print_pointer(pointer: Any, as_json: bool) -> None:
    if as_json:
        print_json(pointer_dict(pointer))
        return
    print(f"serving version {pointer.serving_version} (pointer revision {pointer.revision})")
    print(f"  manifest  sha256:{pointer.manifest_sha256}")
    print(f"  set by    {pointer.set_by} at {when(pointer.set_at)}")
    if pointer.experiment_id:
        print(f"  promoted  experiment {pointer.experiment_id}")
    if pointer.reason:
        print(f"  reason    {pointer.reason}")


def run_pointer(args: argparse.Namespace) -> int:
    from recmesh.controlplane.v1 import control_plane_pb2 as pb

    def body(client: ControlPlaneClient) -> int:
        if not args.watch:
            response = client.stub.GetPointer(
                pb.GetPointerRequest(), metadata=client.metadata, timeout=client.timeout
            )
            print_pointer(response.pointer, args.json)
            return 0
        stream = client.stub.WatchPointer(pb.WatchPointerRequest(), metadata=client.metadata)
        try:
            for response in stream:
                print_pointer(response.pointer, args.json)
        except KeyboardInterrupt:
            stream.cancel()
        return 0

    return run_with_client(args, body)
