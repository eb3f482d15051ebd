"""`recmesh audit [--verify] [--after N] [--limit N] [--action A]`: the hash-chained audit
log."""

from __future__ import annotations

import argparse
from typing import Any

from cli.controlplane_client import (
    ControlPlaneClient,
    add_client_arguments,
    run_with_client,
)
from cli.output import message_dict, print_json, print_table, when


def add_parser(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="list or --verify the audit log")
    audit.add_argument(
        "--verify", action="store_true", help="recompute the hash chain; exit 1 if broken"
    )
    audit.add_argument("--after", type=int, default=0, help="only entries after this sequence")
    audit.add_argument("--limit", type=int, default=0, help="at most this many entries")
    audit.add_argument(
        "--action",
        action="append",
        default=[],
        help="only entries of this action, e.g. rollout_rolled_back (repeatable)",
    )
    add_client_arguments(audit, default_as="alice")
    audit.set_defaults(handler=run_audit)


def run_audit(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    def verify(client: ControlPlaneClient) -> int:
        report = client.stub.VerifyAuditLog(
            pb.VerifyAuditLogRequest(), metadata=client.metadata, timeout=client.timeout
        )
        if args.json:
            print_json(
                {
                    "ok": report.ok,
                    "entries": int(report.entries),
                    "broken_sequence": int(report.broken_sequence),
                    "problem": report.problem,
                }
            )
        elif report.ok:
            print(f"audit log OK: {report.entries} entries, hash chain intact")
        elif report.broken_sequence:
            print(f"audit log BROKEN at entry {report.broken_sequence}: {report.problem}")
        else:
            print(f"audit log BROKEN: {report.problem}")
        return 0 if report.ok else 1

    def listing(client: ControlPlaneClient) -> int:
        response = client.stub.ListAuditEntries(
            pb.ListAuditEntriesRequest(after_sequence=args.after, limit=args.limit),
            metadata=client.metadata,
            timeout=client.timeout,
        )
        entries = [e for e in response.entries if not args.action or e.action in args.action]
        if args.json:
            print_json({"entries": [message_dict(entry) for entry in entries]})
            return 0
        print_table(
            ("SEQ", "AT", "ACTOR", "ACTION", "SUBJECT", "DETAILS"),
            [
                (
                    str(entry.sequence),
                    when(entry.at),
                    entry.actor,
                    entry.action,
                    entry.subject,
                    " ".join(f"{k}={v}" for k, v in sorted(entry.details.items())),
                )
                for entry in entries
            ],
        )
        return 0

    return run_with_client(args, verify if args.verify else listing)
