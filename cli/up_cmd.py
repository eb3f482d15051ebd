"""`recmesh up`: etcd, the control plane and the four services on loopback, supervised."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from recmesh.files.repo_paths import REPO_ROOT


def add_parser(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "up", help="start etcd, the control plane and the serving mesh (Ctrl-C stops all)"
    )
    up.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("RECMESH_STATE_DIR", REPO_ROOT / "var")),
        help="where etcd data, artifacts, logs, spans and credentials live",
    )
    up.add_argument("--dataset", default="ml-100k", help="dataset of the baseline version")
    up.add_argument(
        "--tls-dir",
        type=Path,
        default=None,
        help="run every process with mutual TLS: a CA and a certificate per process and "
        "per demo principal are made (or reused) here; default: plaintext",
    )
    for name, default in (
        ("recommend", 50051),
        ("candidates", 50052),
        ("features", 50053),
        ("ranking", 50054),
        ("control-plane", 50055),
        ("etcd", 2379),
        ("etcd-peer", 2380),
    ):
        up.add_argument(f"--{name}-port", type=int, default=default)
    up.set_defaults(handler=run_up)


def run_up(args: argparse.Namespace) -> int:
    from local_mesh.certificates import CertificateError
    from local_mesh.layout import MeshLayout, MeshPorts
    from local_mesh.local_mesh import LocalMesh, MeshStartError
    from recmesh.telemetry.logging import configure_logging

    configure_logging("recmesh-up")
    ports = MeshPorts(
        recommend=args.recommend_port,
        candidates=args.candidates_port,
        features=args.features_port,
        ranking=args.ranking_port,
        control_plane=args.control_plane_port,
        etcd=args.etcd_port,
        etcd_peer=args.etcd_peer_port,
    )
    tls_dir = None if args.tls_dir is None else args.tls_dir.resolve()
    mesh = LocalMesh(
        MeshLayout(args.state_dir.resolve()), ports, dataset=args.dataset, tls_dir=tls_dir
    )
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()
        if mesh.supervisor is not None:
            mesh.supervisor.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        mesh.start()
    except (MeshStartError, CertificateError) as exc:
        print(f"recmesh up: {exc}", file=sys.stderr)
        return 1
    print(
        f"recmesh is up: recommend 127.0.0.1:{ports.recommend}, control plane "
        f"127.0.0.1:{ports.control_plane}, etcd 127.0.0.1:{ports.etcd} "
        f"(state in {args.state_dir}); Ctrl-C stops everything",
        flush=True,
    )
    if tls_dir is not None:
        print(
            f"mutual TLS is on; clients need a certificate from {tls_dir}, e.g. "
            f"recmesh recommend 196 --tls-ca {tls_dir}/ca.pem --tls-cert {tls_dir}/olga.pem "
            f"--tls-key {tls_dir}/olga.key",
            flush=True,
        )
    try:
        if not stopping.is_set():
            mesh.supervise()
    finally:
        mesh.stop()
    print("recmesh stopped", flush=True)
    return 0
