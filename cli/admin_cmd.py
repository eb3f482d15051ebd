"""`recmesh admin backup` and `recmesh admin restore`: etcd's snapshot of an
installation, and a fresh etcd data dir made from one (recmesh/etcd/backup.py says why
a snapshot; docs/operations.md, *Back up and restore*, how to run both)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.output import print_json
from recmesh.etcd.credential_options import add_etcd_credential_arguments
from recmesh.rpc.tls_options import add_tls_arguments


def add_parser(subparsers: Any) -> None:
    admin = subparsers.add_parser("admin", help="back up etcd, restore a backup")
    commands = admin.add_subparsers(dest="admin_command", metavar="ADMIN_COMMAND", required=True)

    backup = commands.add_parser(
        "backup",
        help="write etcd's snapshot (every record, revisions, users and roles) to a file",
        description="Streams etcd's snapshot into --out (mode 0600) and checks its sha256. "
        "etcd answers a snapshot only to its root user: --etcd-user root "
        "--etcd-password-file var/credentials/etcd/root.password (or a root certificate).",
    )
    backup.add_argument("--out", type=Path, required=True, help="the file (never overwritten)")
    backup.add_argument("--etcd", default="127.0.0.1:2379", help="etcd endpoints, comma-separated")
    add_etcd_credential_arguments(backup)
    add_tls_arguments(backup, party="etcd's root user (presented to etcd)")
    backup.add_argument(
        "--tls-server-name",
        help="the name etcd's certificate must carry, when --etcd is a tunnel "
        "(kubectl port-forward: recmesh-etcd)",
    )
    backup.add_argument("--json", action="store_true", help="print one JSON object")
    backup.set_defaults(handler=run_backup, parser=backup)

    restore = commands.add_parser(
        "restore",
        help="make a fresh etcd data dir from a backup (then start etcd on it)",
        description="Checks the backup's sha256 and makes --data-dir (absent or empty) a "
        "new etcd member's data with etcd's own tool (etcdutl, or etcdctl of etcd 3.4). "
        "Start etcd on it with the same --name and peer URL; the users, roles and "
        "passwords are those of the installation backed up.",
    )
    restore.add_argument("--from", dest="source", type=Path, required=True, help="the backup")
    restore.add_argument("--data-dir", type=Path, required=True, help="absent or empty")
    restore.add_argument(
        "--name", default="recmesh", help="the member's name (recmesh up's: recmesh)"
    )
    restore.add_argument(
        "--peer-url",
        default="http://127.0.0.1:2380",
        help="the member's peer URL (recmesh up's: http://127.0.0.1:2380)",
    )
    restore.add_argument(
        "--initial-cluster",
        default="",
        help="NAME=PEER_URL,... of every member, for a cluster (default: this member alone)",
    )
    restore.add_argument(
        "--initial-cluster-token",
        help="the cluster token its etcd starts with (default: recmesh up's, recmesh-local; "
        "the StatefulSet of infra/k8s/: recmesh)",
    )
    restore.add_argument("--json", action="store_true", help="print one JSON object")
    restore.set_defaults(handler=run_restore)


def run_backup(args: argparse.Namespace) -> int:
    from recmesh.etcd.backup import BackupError, save_snapshot
    from recmesh.etcd.credential_options import etcd_credentials_from_args
    from recmesh.rpc.tls_options import tls_from_args

    parser: argparse.ArgumentParser = args.parser
    tls = tls_from_args(args, parser)
    credentials = etcd_credentials_from_args(args, parser, tls=tls is not None)
    endpoints = [e.strip() for e in args.etcd.split(",") if e.strip()]
    try:
        saved = save_snapshot(
            endpoints,
            args.out,
            credentials=credentials,
            tls=tls,
            tls_server_name=args.tls_server_name,
        )
    except BackupError as exc:
        print(f"recmesh admin backup: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print_json({"path": str(saved.path), "bytes": saved.size, "sha256": saved.sha256})
    else:
        print(f"backup {saved.path}: {saved.size} bytes, sha256 {saved.sha256}, checksum OK")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from recmesh.etcd.backup import (
        DEFAULT_CLUSTER_TOKEN,
        BackupError,
        restore_snapshot,
        snapshot_status,
    )

    try:
        member = restore_snapshot(
            args.source,
            args.data_dir,
            name=args.name,
            peer_url=args.peer_url,
            initial_cluster=args.initial_cluster,
            cluster_token=args.initial_cluster_token or DEFAULT_CLUSTER_TOKEN,
        )
        status = snapshot_status(args.source)
    except BackupError as exc:
        print(f"recmesh admin restore: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print_json(
            {
                "data_dir": str(member.data_dir),
                "name": member.name,
                "peer_url": member.peer_url,
                "cluster_token": member.cluster_token,
                "revision": status.revision,
                "keys": status.keys,
            }
        )
    else:
        print(
            f"restored {args.source} into {member.data_dir}: revision {status.revision}, "
            f"{status.keys} keys; start etcd on it as member {member.name} at {member.peer_url}"
        )
    return 0
