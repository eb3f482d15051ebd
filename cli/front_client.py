"""The options and the channel of the commands that call the Recommend front."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import grpc

from recmesh.rpc.tls import channel_credentials, tls_files


def add_front_arguments(parser: argparse.ArgumentParser, timeout_s: float) -> None:
    """--address, --timeout, --json and the three mutual-TLS files."""
    parser.add_argument(
        "--address",
        default=os.environ.get("RECMESH_RECOMMEND", "127.0.0.1:50051"),
        help="the Recommend front (host:port)",
    )
    parser.add_argument("--timeout", type=float, default=timeout_s, help="deadline in seconds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--tls-ca", type=Path, help="CA of the mesh (mutual TLS)")
    parser.add_argument("--tls-cert", type=Path, help="client certificate (mutual TLS)")
    parser.add_argument("--tls-key", type=Path, help="client private key (mutual TLS)")


def front_channel(args: argparse.Namespace) -> grpc.Channel:
    """A channel to `args.address`: plaintext, or mutual TLS when the three files are
    given; raises TlsConfigError when they are partial or unusable."""
    tls = tls_files(args.tls_ca, args.tls_cert, args.tls_key)
    if tls is None:
        return grpc.insecure_channel(args.address)
    return grpc.secure_channel(args.address, channel_credentials(tls))
