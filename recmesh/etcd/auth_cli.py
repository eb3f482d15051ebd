"""Turns etcd's auth on for an installation from the command line, as `recmesh up`
does for the local mesh (recmesh/etcd/auth_setup.py): the Kubernetes Job
`recmesh-etcd-auth` (infra/k8s/base/etcd-auth-job.yaml) runs it.

    python -m recmesh.etcd.auth_cli --etcd HOST:PORT[,...] --passwords DIR
        [--prefix /recmesh/v1 ...] [--tls-ca F --tls-cert F --tls-key F]

DIR holds one file per user, `root.password`, `recmesh-control-plane.password` and
`recmesh-serving.password` (recmesh/etcd/password_files.py). Exit 0 once etcd requires
auth with exactly recmesh's users and grants; 1 with one line naming what is wrong
(access recmesh did not grant, a root password that does not match, etcd unreachable).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import grpc
from etcd3aio import EtcdError

from recmesh.etcd.auth_setup import ForeignAuthError, secure_etcd
from recmesh.etcd.credentials import EtcdCredentialsError
from recmesh.etcd.keys import DEFAULT_PREFIX
from recmesh.etcd.password_files import EtcdPasswordFiles
from recmesh.rpc.tls_options import add_tls_arguments, tls_from_args


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recmesh.etcd.auth_cli", description=__doc__)
    parser.add_argument("--etcd", required=True, help="etcd endpoints, comma-separated")
    parser.add_argument(
        "--passwords", type=Path, required=True, help="directory of the users' password files"
    )
    parser.add_argument(
        "--prefix",
        action="append",
        default=None,
        help=f"installation prefix to grant (repeatable; default {DEFAULT_PREFIX})",
    )
    add_tls_arguments(parser, party="root's client (presented to etcd)")
    args = parser.parse_args(argv)
    tls = tls_from_args(args, parser)
    endpoints = [e.strip() for e in args.etcd.split(",") if e.strip()]
    prefixes = tuple(args.prefix or (DEFAULT_PREFIX,))
    try:
        secure_etcd(endpoints, EtcdPasswordFiles(args.passwords), prefixes, tls=tls)
    except (
        ForeignAuthError,
        EtcdCredentialsError,
        EtcdError,
        grpc.aio.AioRpcError,
        OSError,
    ) as exc:
        print(f"recmesh-etcd-auth: {exc}", file=sys.stderr)
        return 1
    print(f"recmesh-etcd-auth: auth on at {','.join(endpoints)} for {', '.join(prefixes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
