"""A real single-node etcd on loopback, run by infra/etcd/run-etcd.sh.

Used by `recmesh up` and by the tests: start it, wait for /health, turn its auth on
(`secure`: the users of recmesh/etcd/users.py, kept in etcd's data dir across
restarts), stop it by PID. With `tls`, etcd serves clients over mutual TLS only, and
the health check presents the same certificate.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from recmesh.etcd.auth_setup import secure_etcd
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.keys import DEFAULT_PREFIX
from recmesh.etcd.password_files import EtcdPasswordFiles, ensure_password_files
from recmesh.files.repo_paths import INFRA_DIR
from recmesh.net.ports import free_loopback_port, free_loopback_ports
from recmesh.rpc.tls import TlsFiles

RUN_ETCD = INFRA_DIR / "etcd" / "run-etcd.sh"
#: How many times `start` tries fresh ports after losing one it picked to another process.
START_ATTEMPTS = 3
_ADDRESS_IN_USE = "address already in use"


class EtcdStartError(RuntimeError):
    """etcd did not become healthy; the message carries the tail of its log."""


@dataclass
class LocalEtcd:
    """One etcd process. `endpoint` is host:port for clients; with `tls` (etcd's own
    certificate, good for serverAuth and clientAuth) clients need a certificate from
    tls.ca."""

    data_dir: Path
    client_port: int = 0
    peer_port: int = 0
    log_path: Path | None = None
    name: str = "recmesh"
    initial_cluster: str = ""
    tls: TlsFiles | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    #: The users' password files once `secure` turned auth on.
    passwords: EtcdPasswordFiles | None = field(default=None, init=False)
    _log_file: IO[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def health_url(self) -> str:
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://127.0.0.1:{self.client_port}/health"

    def start(self, timeout: float = 20.0) -> None:
        """Starts etcd and returns once /health reports healthy. When this object picked
        the ports and another process took one between the pick and etcd's bind, etcd
        is started again on fresh ports (up to START_ATTEMPTS times)."""
        picked = self.client_port == 0 or self.peer_port == 0
        for attempt in range(1, START_ATTEMPTS + 1):
            self.launch()
            try:
                self.wait_healthy(timeout)
                return
            except EtcdStartError as exc:
                if not picked or attempt == START_ATTEMPTS or _ADDRESS_IN_USE not in str(exc):
                    raise
                self.stop()
                self.client_port = self.peer_port = 0

    def secure(
        self, credentials_dir: Path, prefixes: tuple[str, ...] = (DEFAULT_PREFIX,)
    ) -> EtcdPasswordFiles:
        """Turns auth on with the passwords under credentials_dir/etcd/ (made when
        missing) and grants the installations at prefixes; idempotent. Raises EtcdError
        (a root password that does not match an etcd secured before)."""
        passwords = ensure_password_files(credentials_dir)
        secure_etcd([self.endpoint], passwords, prefixes, tls=self.tls)
        self.passwords = passwords
        return passwords

    def credentials(self, user: str) -> EtcdCredentials:
        """The user's credentials (recmesh/etcd/users.py); needs `secure` first."""
        if self.passwords is None:
            raise RuntimeError("LocalEtcd.secure() was not called")
        return self.passwords.credentials(user)

    def allow(self, prefix: str) -> None:
        """Grants the installation at prefix to the control-plane and serving users (a
        test's own prefix); needs `secure` first."""
        if self.passwords is None:
            raise RuntimeError("LocalEtcd.secure() was not called")
        secure_etcd([self.endpoint], self.passwords, (prefix,), tls=self.tls)

    def launch(self) -> None:
        """Starts the process without waiting (members of a cluster start together).
        Raises TlsConfigError at once when a TLS file is unusable."""
        if self.tls is not None:
            self.tls.load()
        if self.client_port == 0 and self.peer_port == 0:
            self.client_port, self.peer_port = free_loopback_ports(2)
        while self.client_port == 0 or self.peer_port in (0, self.client_port):
            if self.client_port == 0:
                self.client_port = free_loopback_port()
            else:
                self.peer_port = free_loopback_port()
        log_path = self.log_path or self.data_dir.with_name(self.data_dir.name + ".log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._log_file = log_path.open("ab")
        argv = [str(RUN_ETCD), str(self.data_dir), str(self.client_port), str(self.peer_port)]
        argv += [self.name, self.initial_cluster] if self.initial_cluster else [self.name]
        self.process = subprocess.Popen(
            argv,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=self._environ(),
            start_new_session=True,
        )

    def _environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECMESH_ETCD_TLS_")}
        if self.tls is not None:
            env["RECMESH_ETCD_TLS_CA"] = str(self.tls.ca)
            env["RECMESH_ETCD_TLS_CERT"] = str(self.tls.cert)
            env["RECMESH_ETCD_TLS_KEY"] = str(self.tls.key)
        return env

    def is_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(
                self.health_url, timeout=1.0, context=self._health_ssl_context()
            ) as response:
                body = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return bool(body.get("health") in ("true", True))

    def _health_ssl_context(self) -> ssl.SSLContext | None:
        if self.tls is None:
            return None
        context = ssl.create_default_context(cafile=str(self.tls.ca))
        context.load_cert_chain(str(self.tls.cert), str(self.tls.key))
        return context

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                code = self.process.returncode
                raise EtcdStartError(f"etcd exited with {code}: {self.log_tail()}")
            if self.is_healthy():
                return
            time.sleep(0.05)
        self.stop()
        raise EtcdStartError(f"etcd not healthy after {timeout:.0f}s: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """Stops etcd by its PID: SIGTERM, then SIGKILL after timeout."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def kill(self) -> None:
        """Kills etcd with SIGKILL (fault injection)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
