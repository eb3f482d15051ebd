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
