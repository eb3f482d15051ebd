"""The command lines of the local mesh's processes, built in one place."""

from __future__ import annotations

import sys

from local_mesh.certificates import MeshCertificates
from local_mesh.layout import MeshLayout, MeshPorts
from local_mesh.supervisor import ProcessSpec
from recmesh.etcd.users import CONTROL_PLANE_USER, SERVING_USER


def _addr(port: int) -> str:
    return f"127.0.0.1:{port}"


def tls_arguments(certificates: MeshCertificates | None, name: str) -> tuple[str, ...]:
    """`--tls-ca/--tls-cert/--tls-key` of the process called name, or nothing."""
    if certificates is None:
        return ()
    files = certificates.files(name)
    return ("--tls-ca", str(files.ca), "--tls-cert", str(files.cert), "--tls-key", str(files.key))


def etcd_user_arguments(
    layout: MeshLayout, certificates: MeshCertificates | None, name: str
) -> tuple[str, ...]:
    """Who the process called name is to etcd: over mutual TLS its certificate's CN
    (local_mesh/identities.py), so nothing; in plaintext `--etcd-user` and the path of
    that user's password file (the control plane's, or serving's for every service)."""
    if certificates is not None:
        return ()
    user = CONTROL_PLANE_USER if name == "control_plane" else SERVING_USER
    return ("--etcd-user", user, "--etcd-password-file", str(layout.etcd_passwords.path(user)))


def pointer_arguments(layout: MeshLayout, name: str, min_sequence: int = 0) -> tuple[str, ...]:
    """The control plane signs pointer records with its key; every serving process (by
    its own name) verifies them with the public key and keeps its own state directory.
    With min_sequence (the pointer's sequence when the mesh started), a process with no
    state yet refuses records below it instead of trusting the first signed one."""
    if name == "control_plane":
        return ("--pointer-signing-key", str(layout.pointer_signing_key))
    floor = ("--min-pointer-sequence", str(min_sequence)) if min_sequence > 0 else ()
    return (
        "--pointer-public-key",
        str(layout.pointer_public_key),
        "--state-dir",
        str(layout.serving_state(name)),
        *floor,
    )


def service_specs(
    layout: MeshLayout,
    ports: MeshPorts,
    credentials_file: str,
    certificates: MeshCertificates | None = None,
    min_pointer_sequence: int = 0,
) -> list[ProcessSpec]:
    """Control plane first, then the serving services leaf-first (features before ranking,
    candidates and ranking before the front) so each finds its downstream listening.
    With certificates, every process runs with mutual TLS under its own certificate.
    min_pointer_sequence is the serving processes' floor (pointer_arguments)."""
    specs = _plaintext_specs(layout, ports, credentials_file)
    specs = [
        ProcessSpec(
            spec.name,
            (*spec.argv, *pointer_arguments(layout, spec.name, min_pointer_sequence)),
            spec.log_path,
        )
        for spec in specs
    ]
    return [
        ProcessSpec(
            spec.name,
            (
                *spec.argv,
                *tls_arguments(certificates, spec.name),
                *etcd_user_arguments(layout, certificates, spec.name),
            ),
            spec.log_path,
        )
        for spec in specs
    ]


def _plaintext_specs(
    layout: MeshLayout, ports: MeshPorts, credentials_file: str
) -> list[ProcessSpec]:
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
                # The front's impression log: GetShadowReport computes the diff from it.
                "--impressions",
                str(layout.impressions),
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
                "--interaction-log",
                str(layout.interactions),
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
