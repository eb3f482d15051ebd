"""The `--tls-ca`, `--tls-cert`, `--tls-key` options every process takes."""

from __future__ import annotations

import argparse
from pathlib import Path

from recmesh.rpc.tls import TlsConfigError, TlsFiles, tls_files


def add_tls_arguments(parser: argparse.ArgumentParser, *, party: str) -> None:
    """Adds the three options; `party` says whose certificate --tls-cert is."""
    group = parser.add_argument_group("mutual TLS (all three, or none for plaintext)")
    group.add_argument("--tls-ca", type=Path, help="CA certificate that signs every peer (PEM)")
    group.add_argument("--tls-cert", type=Path, help=f"certificate of {party} (PEM)")
    group.add_argument("--tls-key", type=Path, help=f"private key of {party} (PEM)")


def tls_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> TlsFiles | None:
    """The configured files, already checked to be readable PEM, or None. A partial set
    or a bad file exits through parser.error, naming the file (never its content)."""
    try:
        files = tls_files(args.tls_ca, args.tls_cert, args.tls_key)
        if files is not None:
            files.load()
    except TlsConfigError as exc:
        parser.error(str(exc))
    return files


def add_etcd_tls_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds --etcd-tls-ca/-cert/-key: the files this process presents to etcd and checks
    etcd against, when etcd's CA is not the mesh's (etcd takes a client certificate's CN
    as its user, so its clients get certificates from a CA of their own)."""
    group = parser.add_argument_group(
        "mutual TLS to etcd (all three, or none: etcd gets the --tls-* files)"
    )
    group.add_argument("--etcd-tls-ca", type=Path, help="CA certificate that signs etcd's (PEM)")
    group.add_argument(
        "--etcd-tls-cert", type=Path, help="this process's etcd client certificate (PEM)"
    )
    group.add_argument("--etcd-tls-key", type=Path, help="its private key (PEM)")


def etcd_tls_from_args(
    args: argparse.Namespace, parser: argparse.ArgumentParser, mesh: TlsFiles | None
) -> TlsFiles | None:
    """The --etcd-tls-* files, checked to be readable PEM; without them, `mesh` (the
    --tls-* files). A partial set or a bad file exits through parser.error."""
    try:
        files = tls_files(args.etcd_tls_ca, args.etcd_tls_cert, args.etcd_tls_key)
        if files is None:
            return mesh
        files.load()
    except TlsConfigError as exc:
        parser.error(f"--etcd-tls-*: {exc}")
    return files
