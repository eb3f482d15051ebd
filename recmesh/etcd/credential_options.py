"""The `--etcd-user` and `--etcd-password-file` options of every process that uses etcd."""

from __future__ import annotations

import argparse
from pathlib import Path

from recmesh.etcd.credentials import EtcdCredentials, EtcdCredentialsError


def add_etcd_credential_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "etcd user (both; or neither with --tls-*, when etcd takes the certificate's CN)"
    )
    group.add_argument("--etcd-user", default=None, help="the etcd user this process acts as")
    group.add_argument(
        "--etcd-password-file",
        type=Path,
        default=None,
        help="file whose first line is that user's password (keep it mode 0600)",
    )


def etcd_credentials_from_args(
    args: argparse.Namespace, parser: argparse.ArgumentParser, *, tls: bool
) -> EtcdCredentials | None:
    """The user and its password, or None with mutual TLS and neither option. etcd
    refuses a client that is neither, so a plaintext process without them, half of the
    pair, or an unreadable file exits through parser.error (naming the file, never its
    content)."""
    user, path = args.etcd_user, args.etcd_password_file
    if user is None and path is None:
        if not tls:
            parser.error(
                "etcd requires auth: give --etcd-user and --etcd-password-file (or --tls-* "
                "with a certificate whose CN is an etcd user)"
            )
        return None
    if user is None or path is None:
        parser.error("--etcd-user and --etcd-password-file go together")
    try:
        return EtcdCredentials.from_file(user, path)
    except EtcdCredentialsError as exc:
        parser.error(str(exc))
