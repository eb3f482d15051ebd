"""The local CA: certificates a server accepts on loopback, private files, kept on restart."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

from local_mesh.certificates import ensure_mesh_certificates


def _text(certificate: Path) -> str:
    return subprocess.run(
        ["openssl", "x509", "-in", str(certificate), "-noout", "-text"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_process_certificates_name_loopback_and_serve_both_ends(tmp_path: Path) -> None:
    """A process certificate names DNS:localhost and IP:127.0.0.1 and is good for server
    and client auth; a client certificate only for client auth. Keys and the directory
    are readable by the owner only."""
    certificates = ensure_mesh_certificates(tmp_path / "tls", ("ranking",), ("olga",), days=1)
    process = _text(certificates.files("ranking").cert)
    assert "DNS:localhost, IP Address:127.0.0.1" in process
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in process
    client = _text(certificates.files("olga").cert)
    assert "Subject: CN = olga" in client
    assert "TLS Web Server Authentication" not in client
    for path in (tmp_path / "tls").glob("*.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700


def test_existing_certificates_are_kept_and_a_new_ca_reissues_all(tmp_path: Path) -> None:
    """A second run keeps every certificate (clients keep working); when the CA is gone,
    every certificate is reissued under the new one."""
    directory = tmp_path / "tls"
    first = ensure_mesh_certificates(directory, ("ranking",), ("olga",), days=1)
    before = first.files("olga").cert.read_bytes()
    again = ensure_mesh_certificates(directory, ("ranking",), ("olga", "bob"), days=1)
    assert again.files("olga").cert.read_bytes() == before
    assert again.files("bob").cert.exists()
    first.ca.unlink()
    ensure_mesh_certificates(directory, ("ranking",), ("olga",), days=1)
    assert first.files("olga").cert.read_bytes() != before
