"""`recmesh pointer [--watch] [--json]`: which serving version answers users.

When the stored pointer is damaged (does not parse, or is not signed by the control
plane), it names the key and the problem and shows the last signed record, which
serving keeps answering with, and exits 1; `recmesh rollback --to VERSION` repairs it.
"""

from __future__ import annotations

import argparse
from typing import Any

from cli.controlplane_client import (
    ControlPlaneClient,
    add_client_arguments,
    run_with_client,
)
from cli.output import print_json, when


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
        "sequence": int(pointer.sequence),
        "signed_by": pointer.signature.key_id,
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
    if pointer.signature.key_id:
        print(f"  signed    record {pointer.sequence} by key {pointer.signature.key_id}")


def print_damaged(response: Any, as_json: bool) -> None:
    damaged, last = response.damaged, response.pointer
    if as_json:
        print_json(
            {
                "damaged": {"key": damaged.key, "problem": damaged.problem},
                "last_signed": pointer_dict(last) if last.serving_version else None,
            }
        )
        return
    print(f"serving pointer DAMAGED: {damaged.key}: {damaged.problem}")
    if last.serving_version:
        print(f"last signed record (what serving keeps answering with): {last.serving_version}")
        print_pointer(last, as_json=False)
    print("repair: recmesh rollback --to VERSION --reason TEXT --as OPERATOR")


def run_pointer(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    def body(client: ControlPlaneClient) -> int:
        if not args.watch:
            response = client.stub.GetPointer(
                pb.GetPointerRequest(), metadata=client.metadata, timeout=client.timeout
            )
            if response.HasField("damaged"):
                print_damaged(response, args.json)
                return 1
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
