"""The command lines of the local mesh's processes, built in one place."""

from __future__ import annotations

import sys

from recmesh.mesh.layout import MeshLayout, MeshPorts
from recmesh.mesh.supervisor import ProcessSpec


def _addr(port: int) -> str:
    return f"127.0.0.1:{port}"


def service_specs(layout: MeshLayout, ports: MeshPorts, credentials_file: str) -> list[ProcessSpec]:
    """Control plane first, then the serving services leaf-first (features before ranking,
    candidates and ranking before the front) so each finds its downstream listening."""
    etcd = _addr(ports.etcd)
    common = (
        "--etcd",
        etcd,
        "--artifacts",
        str(layout.artifacts),
        "--span-file",
        str(layout.span_file),
    )
    python = sys.executable
    return [
        ProcessSpec(
            "control_plane",
            (
                python,
                "-m",
                "control_plane",
                "--port",
                str(ports.control_plane),
                "--etcd",
                etcd,
                "--artifacts",
                str(layout.artifacts),
                "--credentials",
                credentials_file,
                "--span-file",
                str(layout.span_file),
            ),
            layout.logs / "control_plane.log",
        ),
        ProcessSpec(
            "features",
            (python, "-m", "services.features", "--port", str(ports.features), *common),
            layout.logs / "features.log",
        ),
        ProcessSpec(
            "candidates",
            (python, "-m", "services.candidates", "--port", str(ports.candidates), *common),
            layout.logs / "candidates.log",
        ),
        ProcessSpec(
            "ranking",
            (
                python,
                "-m",
                "services.ranking",
                "--port",
                str(ports.ranking),
                "--features",
                _addr(ports.features),
                *common,
            ),
            layout.logs / "ranking.log",
        ),
        ProcessSpec(
            "recommend",
            (
                python,
                "-m",
                "services.recommend",
                "--port",
                str(ports.recommend),
                "--candidates",
                _addr(ports.candidates),
                "--ranking",
                _addr(ports.ranking),
                "--impressions",
                str(layout.impressions),
                *common,
            ),
            layout.logs / "recommend.log",
        ),
    ]


def service_addresses(ports: MeshPorts) -> dict[str, str]:
    return {
        "control_plane": _addr(ports.control_plane),
        "features": _addr(ports.features),
        "candidates": _addr(ports.candidates),
        "ranking": _addr(ports.ranking),
        "recommend": _addr(ports.recommend),
    }
