"""How CLI commands reach the control plane: address, identity, TLS, error reporting.

Identity, locally: `--as NAME` reads NAME's own token file, `NAME.token` in the
tokens directory (`--credentials`, `$RECMESH_CREDENTIALS`, default
var/credentials/tokens), and no other, and sends it as `authorization: Bearer TOKEN`.
With mutual TLS (`--tls-ca`, `--tls-cert`, `--tls-key`) the certificate is the
identity and `--as` is ignored.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from cli.errors import report_rpc_error
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.rpc.tls import TlsConfigError, channel_credentials, tls_files

DEFAULT_ADDRESS = "127.0.0.1:50055"
DEFAULT_TOKENS_DIR = REPO_ROOT / "var" / "credentials" / "tokens"


def add_client_arguments(parser: argparse.ArgumentParser, default_as: str | None) -> None:
    """Connection, identity and output options. `default_as` is who a read-only command
    runs as when neither --as nor $RECMESH_AS says; None makes identity mandatory."""
    group = parser.add_argument_group("control plane")
    group.add_argument(
        "--control-plane",
        default=os.environ.get("RECMESH_CONTROL_PLANE", DEFAULT_ADDRESS),
        metavar="HOST:PORT",
        help="control plane address (default $RECMESH_CONTROL_PLANE or %(default)s)",
    )
    group.add_argument(
        "--as",
        dest="principal",
        default=os.environ.get("RECMESH_AS", default_as),
        metavar="NAME",
        help="act as this principal (its token file, NAME.token in --credentials)",
    )
    group.add_argument(
        "--credentials",
        type=Path,
        default=Path(os.environ.get("RECMESH_CREDENTIALS", DEFAULT_TOKENS_DIR)),
        metavar="DIR",
        help="directory of token files (default $RECMESH_CREDENTIALS or var/credentials/tokens)",
    )
    group.add_argument("--tls-ca", type=Path, help="CA of the server certificate (mTLS)")
    group.add_argument("--tls-cert", type=Path, help="client certificate (mTLS)")
    group.add_argument("--tls-key", type=Path, help="client private key (mTLS)")
    group.add_argument("--tls-server-name", help="expected name in the server certificate")
    group.add_argument("--timeout", type=float, default=10.0, help="deadline in seconds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


class ClientSetupError(Exception):
    """The command cannot even call: no identity, unreadable tokens or certificates."""


@dataclass(frozen=True)
class ControlPlaneClient:
    """A sync stub plus what every call carries."""

    stub: Any
    metadata: tuple[tuple[str, str], ...]
    timeout: float


@contextmanager
def connect(args: argparse.Namespace) -> Iterator[ControlPlaneClient]:
    from recmesh.api.controlplane.v1 import control_plane_pb2_grpc

    try:
        tls = tls_files(args.tls_ca, args.tls_cert, args.tls_key)
        credentials = None if tls is None else channel_credentials(tls)
    except TlsConfigError as exc:
        raise ClientSetupError(str(exc)) from exc
    if credentials is not None:
        options = []
        if args.tls_server_name:
            options.append(("grpc.ssl_target_name_override", args.tls_server_name))
        channel = grpc.secure_channel(args.control_plane, credentials, options=options)
        metadata: tuple[tuple[str, str], ...] = ()
    else:
        channel = grpc.insecure_channel(args.control_plane)
        metadata = (("authorization", f"Bearer {_token(args)}"),)
    with channel:
        yield ControlPlaneClient(
            control_plane_pb2_grpc.ControlPlaneServiceStub(channel), metadata, args.timeout
        )


def _token(args: argparse.Namespace) -> str:
    from control_plane.auth.client_tokens import ClientTokensError, known_names, read_token

    if not args.principal:
        raise ClientSetupError(
            f"say who you are: --as NAME or $RECMESH_AS (token files in {args.credentials}: "
            f"{', '.join(known_names(args.credentials))})"
        )
    try:
        return read_token(args.credentials, args.principal)
    except ClientTokensError as exc:
        raise ClientSetupError(str(exc)) from exc


def run_with_client(args: argparse.Namespace, body: Callable[[ControlPlaneClient], int]) -> int:
    """Runs body with a connected client; RPC errors print `STATUS: message` and return 1,
    set-up errors print a message and return 2."""
    try:
        with connect(args) as client:
            return body(client)
    except grpc.RpcError as exc:
        return report_rpc_error(exc, args.json)
    except ClientSetupError as exc:
        print(f"recmesh: {exc}", file=sys.stderr)
        return 2
