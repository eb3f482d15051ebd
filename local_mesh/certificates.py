"""A local certificate authority for mutual TLS, made with the openssl command line.

`recmesh up --tls-dir DIR` and the tests make one CA and a certificate per process
and per client with it (the `cryptography` package is not among the pinned
dependencies; openssl is on every machine the mesh runs on). Keys are EC P-256,
written mode 0600 in a directory of mode 0700.

Process certificates name `DNS:localhost` and `IP:127.0.0.1`, so a client checking
the server's name on loopback accepts them, and are good for both ends of a
connection (each process serves and calls). Client certificates carry only a CN:
the control plane takes it as the principal. A certificate's CN is its file name
unless told otherwise: etcd takes the CN of a client certificate as its etcd user, so
processes that share an etcd user share a CN (local_mesh/identities.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from recmesh.rpc.tls import TlsFiles

CA_NAME = "ca"
PROCESS_EXTENSIONS = (
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
)
CLIENT_EXTENSIONS = "extendedKeyUsage=clientAuth\n"


class CertificateError(RuntimeError):
    """openssl failed; the message carries its error output (never a key)."""


def create_ca(directory: Path, name: str = CA_NAME, *, days: int = 365) -> None:
    """Writes a self-signed CA as name.pem and name.key in directory."""
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", str(days),
        "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    (directory / f"{name}.key").chmod(0o600)


def issue_certificate(
    directory: Path,
    ca: str,
    name: str,
    extensions: str,
    *,
    days: int = 365,
    common_name: str | None = None,
) -> None:
    """Writes name.pem (CN=common_name, by default name; the given X.509v3 extensions;
    signed by ca.pem/ca.key of the same directory) and name.key."""
    (directory / f"{name}.ext").write_text(extensions)
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={common_name or name}",
        cwd=directory,
    )  # fmt: skip
    (directory / f"{name}.key").chmod(0o600)
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-out", f"{name}.pem", "-days", str(days), "-extfile", f"{name}.ext",
        cwd=directory,
    )  # fmt: skip
    (directory / f"{name}.csr").unlink()
    (directory / f"{name}.ext").unlink()


@dataclass(frozen=True)
class MeshCertificates:
    """A directory holding ca.pem and NAME.pem / NAME.key for each process and client."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / f"{CA_NAME}.pem"

    def files(self, name: str) -> TlsFiles:
        """The TLS files a process or client called name uses."""
        return TlsFiles(
            ca=self.ca, cert=self.directory / f"{name}.pem", key=self.directory / f"{name}.key"
        )


def ensure_mesh_certificates(
    directory: Path,
    processes: Sequence[str],
    clients: Sequence[str],
    *,
    days: int = 365,
    common_names: Mapping[str, str] | None = None,
) -> MeshCertificates:
    """Makes the CA and every missing certificate, with the CN common_names gives (else
    the name). Existing ones are kept, so clients holding certificates from an earlier
    start keep working, unless their CN is not the one wanted; a new CA reissues all."""
    cns = dict(common_names or {})
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    certificates = MeshCertificates(directory)
    new_ca = not certificates.ca.exists()
    if new_ca:
        create_ca(directory, days=days)
    for names, extensions in ((processes, PROCESS_EXTENSIONS), (clients, CLIENT_EXTENSIONS)):
        for name in names:
            cert = certificates.files(name).cert
            cn = cns.get(name, name)
            if new_ca or not cert.exists() or subject_common_name(cert) != cn:
                issue_certificate(directory, CA_NAME, name, extensions, days=days, common_name=cn)
    return certificates


def subject_common_name(cert: Path) -> str:
    """The CN of the certificate's subject ("" when it has none)."""
    subject = _openssl_output(
        "x509", "-in", str(cert), "-noout", "-subject", "-nameopt", "multiline"
    )
    for line in subject.splitlines():
        key, _, value = line.strip().partition("=")
        if key.strip() == "commonName":
            return value.strip()
    return ""


def _openssl(*args: str, cwd: Path) -> None:
    _openssl_output(*args, cwd=cwd)


def _openssl_output(*args: str, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)
        return done.stdout.decode(errors="replace")
    except FileNotFoundError as exc:
        raise CertificateError("mutual TLS needs the openssl command; install openssl") from exc
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace").strip()
        raise CertificateError(f"openssl {args[0]} failed in {cwd}: {detail}") from exc
