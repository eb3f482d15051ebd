"""Runs one revision's local mesh, with its own code, in a process of its own.

bench/against.py starts this file's source with a revision's own python, in that
revision's work tree (`python -c SOURCE --state DIR [--train] [--data-cache DIR]`,
cwd = the tree), so the mesh, its CLI and its champion are all that revision's: it
imports only the standard library at the top and finds the mesh's classes where the
revision keeps them (local_mesh/ now; recmesh/mesh/ at 93be914 and before). It
starts the mesh on free ports in DIR, trains and promotes the default champion the
revision's own way (its bench/champion.py; with --train, else it reads the current,
baseline pointer), prints one line `MESH_HOST_READY {json}` on its standard output
(the front's address, the services' PIDs, the pointer) and keeps the mesh up until
its standard input closes or it is sent SIGTERM; then stops the mesh and exits.
Everything else it or the mesh prints goes to standard error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any

READY = "MESH_HOST_READY "
SERVICES = ("recommend", "candidates", "features", "ranking", "control_plane")


def _mesh_classes() -> tuple[Any, Any, Any, Any]:
    """LocalMesh, MeshLayout, MeshPorts and free_loopback_port of this tree's revision."""
    try:
        layout = importlib.import_module("local_mesh.layout")
        local_mesh = importlib.import_module("local_mesh.local_mesh")
        ports = importlib.import_module("recmesh.net.ports")
    except ImportError:  # 93be914 and before
        layout = importlib.import_module("recmesh.mesh.layout")
        local_mesh = importlib.import_module("recmesh.mesh.local_mesh")
        ports = importlib.import_module("recmesh.netutil")
    return local_mesh.LocalMesh, layout.MeshLayout, layout.MeshPorts, ports.free_loopback_port


def main() -> int:
    parser = argparse.ArgumentParser(prog="mesh_host")
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--data-cache", type=Path, default=None)
    args = parser.parse_args()
    ready_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever else is printed (the mesh's logs) goes to stderr
    sys.stdout = sys.stderr
    sys.path.insert(0, os.getcwd())
    mesh_class, layout_class, ports_class, free_port = _mesh_classes()
    champion = importlib.import_module("bench.champion")

    if args.data_cache is not None and args.data_cache.is_dir():
        shutil.copytree(args.data_cache, args.state / "data" / "ml-100k", dirs_exist_ok=True)
    layout = layout_class(args.state)
    mesh = mesh_class(layout, ports_class(*(free_port() for _ in range(7))))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        mesh.start()
        pointer = (
            champion.promote_default_champion(layout, mesh.ports)
            if args.train
            else champion.current_pointer(layout, mesh.ports)
        )
        ready = {
            "recommend": f"127.0.0.1:{mesh.ports.recommend}",
            "pids": {name: mesh.supervisor.pid_of(name) for name in SERVICES},
            "version_id": pointer.version_id,
            "manifest_sha256": pointer.manifest_sha256,
            "state": str(args.state),
        }
        ready_out.write(READY + json.dumps(ready) + "\n")
        ready_out.flush()

        def until_stdin_closes() -> None:
            sys.stdin.read()
            stop.set()

        threading.Thread(target=until_stdin_closes, daemon=True).start()
        stop.wait()
    finally:
        mesh.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
