"""A real control plane for tests: real etcd, the real server on port 0, sync gRPC clients.

The server runs on its own asyncio loop in a background thread, exactly as
`create_server` builds it; tests talk to it through a real channel with the
generated sync stub, so they can call it from many threads at once.
Every installation gets its own etcd key prefix, so tests can share one etcd.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
from etcd3aio import Etcd3Client, EtcdConnectionError
from etcd3aio.kv import KVService
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.trace import TracerProvider

from control_plane.auth.client_tokens import load_client_tokens
from control_plane.auth.credentials import DEMO_PRINCIPALS, CredentialFiles, create_credentials
from control_plane.auth.roles import Role
from control_plane.bootstrap import bootstrap_baseline
from control_plane.config import ControlPlaneConfig, TlsFiles
from control_plane.server import create_server
from control_plane.signing_key import SigningKeyFiles, ensure_signing_key
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import control_plane_pb2_grpc, records_pb2
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.writer import WrittenBundle, write_bundle
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.password_files import EtcdPasswordFiles
from recmesh.etcd.session import EtcdSession
from recmesh.signing.keys import PublicKeyRing, load_private_key
from recmesh.signing.sign import PointerSigner
from recmesh.telemetry.metrics import ServerMetrics
from testkit.records import DATASET_FINGERPRINT, evaluation_for, spec_for

T = TypeVar("T")
M = TypeVar("M", bound=Message)

#: The demo principals plus erin, who is both experimenter and reviewer.
TEST_PRINCIPALS = (*DEMO_PRINCIPALS, ("erin", frozenset({Role.EXPERIMENTER, Role.REVIEWER})))


class LoopThread:
    """An asyncio event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def write_fake_bundle(store: LocalArtifactStore, name: str, with_model: bool) -> WrittenBundle:
    """A tiny bundle whose snapshot (and model) bytes are made up but stored for real."""
    return write_bundle(
        store,
        snapshot_bytes=f"snapshot of {name}".encode(),
        model_bytes=f"model {name}".encode() if with_model else None,
        feature_names=("popularity", "affinity"),
        feature_schema_fingerprint="fs-toy-1",
        dataset_name="toy",
        dataset_fingerprint=DATASET_FINGERPRINT,
    )


@dataclass
class ControlPlaneHarness:
    """One running control plane installation and what a test needs to drive it."""

    etcd_endpoint: str
    keys: KeySchema
    artifacts: LocalArtifactStore
    credentials: CredentialFiles
    tokens: dict[str, str]
    port: int
    channel: grpc.Channel
    stub: Any
    baseline: WrittenBundle
    challenger_a: WrittenBundle
    challenger_b: WrittenBundle
    #: The control plane's pointer signing key pair (a real key made for the test).
    signing_key: SigningKeyFiles
    #: The etcd users' passwords (auth is on; the raw etcd helpers below act as root).
    etcd_passwords: EtcdPasswordFiles

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def signer(self) -> PointerSigner:
        """Signs with the control plane's own key (for domain objects built in a test)."""
        return PointerSigner(load_private_key(self.signing_key.private))

    def trusted(self) -> PublicKeyRing:
        return PublicKeyRing.from_files([self.signing_key.public])

    def auth(self, name: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.tokens[name]}"),)

    def cli_args(self, name: str) -> list[str]:
        """The CLI options that reach this installation as name."""
        return [
            "--control-plane", self.address,
            "--credentials", str(self.credentials.client_tokens),
            "--as", name,
        ]  # fmt: skip

    # -- driving the workflow --------------------------------------------------

    def register(self, bundle: WrittenBundle) -> str:
        response = self.stub.RegisterModelVersion(
            pb.RegisterModelVersionRequest(
                manifest_sha256=bundle.manifest_sha256,
                lineage=records_pb2.Lineage(
                    split="user_stratified:0.75:seed=42", code_revision="abc123"
                ),
            ),
            metadata=self.auth("alice"),
        )
        return str(response.model_version.version_id)

    def create_experiment(self, challenger: str, by: str = "alice", **fields: Any) -> Any:
        return self.stub.CreateExperiment(
            pb.CreateExperimentRequest(spec=spec_for(challenger, **fields)),
            metadata=self.auth(by),
        ).experiment

    def model_sha256(self, version_id: str) -> str:
        """The model file of a registered version ("" for a baseline)."""
        return str(
            self.stub.GetModelVersion(
                pb.GetModelVersionRequest(version_id=version_id), metadata=self.auth("alice")
            ).model_version.model_sha256
        )

    def evaluation(self, experiment: Any, verdict: int = records_pb2.VERDICT_PASS) -> Any:
        """An evaluation of the experiment's registered challenger model."""
        sha = self.model_sha256(experiment.spec.challenger_version)
        return evaluation_for(experiment, verdict, sha)

    def record(self, experiment: Any, verdict: int = records_pb2.VERDICT_PASS) -> Any:
        return self.stub.RecordEvaluation(
            pb.RecordEvaluationRequest(evaluation=self.evaluation(experiment, verdict)),
            metadata=self.auth("alice"),
        ).evaluation

    def review(self, experiment_id: str, by: str, verdict: int, comment: str = "") -> Any:
        return self.stub.SubmitReview(
            pb.SubmitReviewRequest(
                experiment_id=experiment_id,
                verdict=verdict,  # type: ignore[arg-type]
                comment=comment,
            ),
            metadata=self.auth(by),
        )

    def approve(self, experiment_id: str, by: str = "bob") -> Any:
        return self.review(experiment_id, by, records_pb2.REVIEW_VERDICT_APPROVE, "looks good")

    def approved_experiment(self, bundle: WrittenBundle) -> Any:
        """Registers bundle, creates an experiment for it, records PASS, has bob approve."""
        experiment = self.create_experiment(self.register(bundle))
        self.record(experiment)
        self.approve(experiment.experiment_id)
        return experiment

    def promote(self, experiment_id: str, by: str = "olga") -> Any:
        return self.stub.Promote(
            pb.PromoteRequest(experiment_id=experiment_id), metadata=self.auth(by)
        )

    def pointer(self) -> Any:
        return self.stub.GetPointer(pb.GetPointerRequest(), metadata=self.auth("serving")).pointer

    def audit_entries(self) -> list[Any]:
        return list(
            self.stub.ListAuditEntries(
                pb.ListAuditEntriesRequest(), metadata=self.auth("alice")
            ).entries
        )

    def verify_audit(self) -> Any:
        return self.stub.VerifyAuditLog(pb.VerifyAuditLogRequest(), metadata=self.auth("alice"))

    # -- etcd, bypassing the control plane -------------------------------------

    def etcd_get(self, key: str) -> tuple[bytes, int] | None:
        """The raw value and mod_revision of a key, or None. Retries connection errors for a
        few seconds: right after an etcd restart, gRPC's shared subchannel may still be in
        its reconnect backoff."""

        async def get() -> tuple[bytes, int] | None:
            async with self._root_etcd() as session:
                response = await session.call(lambda c: _kv(c).get(key))
                if not response.kvs:
                    return None
                return bytes(response.kvs[0].value), int(response.kvs[0].mod_revision)

        deadline = time.monotonic() + 10
        while True:
            try:
                return asyncio.run(get())
            except EtcdConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def etcd_put(self, key: str, value: bytes) -> None:
        async def put() -> None:
            async with self._root_etcd() as session:
                await session.call(lambda c: _kv(c).put(key, value))

        asyncio.run(put())

    def etcd_rewrite(self, key: str, record: M, change: Callable[[M], None]) -> None:
        """Reads the record at key into `record`, applies `change` and writes it back as
        root, behind the control plane (as an old install's record or a tamperer would)."""
        stored = self.etcd_get(key)
        assert stored is not None, key
        json_format.Parse(stored[0], record)
        change(record)
        self.etcd_put(key, json_format.MessageToJson(record, sort_keys=True, indent=None).encode())

    def etcd_delete(self, key: str) -> None:
        async def delete() -> None:
            async with self._root_etcd() as session:
                await session.call(lambda c: _kv(c).delete(key))

        asyncio.run(delete())

    @asynccontextmanager
    async def _root_etcd(self) -> AsyncIterator[EtcdSession]:
        session = EtcdSession([self.etcd_endpoint], credentials=self.etcd_passwords.root)
        await session.open()
        try:
            yield session
        finally:
            await session.close()


def _kv(client: Etcd3Client) -> KVService:
    assert client.kv is not None
    return client.kv


def rpc_error(call: Any, *args: Any, **kwargs: Any) -> grpc.RpcError:
    """Calls a stub method expecting it to fail; returns the error (or fails the test)."""
    try:
        call(*args, **kwargs)
    except grpc.RpcError as exc:
        return exc
    raise AssertionError(f"{call} succeeded, an RpcError was expected")


def code_of(error: grpc.RpcError) -> grpc.StatusCode:
    assert isinstance(error, grpc.Call)
    code: grpc.StatusCode = error.code()
    return code


def details_of(error: grpc.RpcError) -> str:
    assert isinstance(error, grpc.Call)
    return str(error.details())


@contextmanager
def running_control_plane(
    etcd: LocalEtcd,
    directory: Path,
    *,
    tls: TlsFiles | None = None,
    connect: Callable[[str], grpc.Channel] = grpc.insecure_channel,
    etcd_timeout_s: float = 5.0,
    tracer_provider: TracerProvider | None = None,
    metrics: ServerMetrics | None = None,
    prefix: str | None = None,
    impressions: tuple[Path, ...] = (),
) -> Iterator[ControlPlaneHarness]:
    """An installation under a fresh prefix with the baseline registered and serving, plus
    two challenger bundles in the store (not registered). `connect` opens the harness's
    channel to the server's address (a secure one for TLS). The control plane and its
    bootstrap act as etcd's control-plane user, granted the installation's prefix. The
    server is `create_server`'s, its interceptor chain the entry point's; spans and call
    counts go to tracer_provider and metrics when given. With prefix and the directory of
    an earlier harness, the control plane starts again on that installation (its records,
    credentials, signing key and artifacts). `impressions` are the logs GetShadowReport
    reads."""
    keys = KeySchema(prefix or f"/recmesh-test/{uuid.uuid4().hex[:12]}")
    etcd_endpoint = etcd.endpoint
    assert etcd.passwords is not None, "the test etcd runs with auth on (LocalEtcd.secure)"
    passwords = etcd.passwords
    etcd.allow(keys.prefix)
    artifacts = LocalArtifactStore(directory / "artifacts")
    credentials = create_credentials(directory / "credentials", TEST_PRINCIPALS)
    signing_key = ensure_signing_key(directory / "credentials")
    baseline = write_fake_bundle(artifacts, "baseline", with_model=False)
    bootstrap_baseline(
        [etcd_endpoint],
        artifacts.root,
        baseline.manifest_sha256,
        prefix=keys.prefix,
        signing_key=signing_key.private,
        credentials=passwords.control_plane,
    )
    config = ControlPlaneConfig(
        artifacts_dir=artifacts.root,
        credentials_file=credentials.principals,
        signing_key=signing_key.private,
        etcd_endpoints=(etcd_endpoint,),
        etcd_prefix=keys.prefix,
        port=0,
        tls=tls,
        etcd_timeout_s=etcd_timeout_s,
        etcd_credentials=passwords.control_plane,
        impressions=impressions,
    )
    loop = LoopThread()
    started = loop.run(create_server(config, tracer_provider=tracer_provider, metrics=metrics))
    server, port = started.server, started.port
    client_channel = connect(f"127.0.0.1:{port}")
    try:
        yield ControlPlaneHarness(
            etcd_endpoint=etcd_endpoint,
            keys=keys,
            artifacts=artifacts,
            credentials=credentials,
            tokens=load_client_tokens(credentials.client_tokens),
            port=port,
            channel=client_channel,
            stub=control_plane_pb2_grpc.ControlPlaneServiceStub(client_channel),
            baseline=baseline,
            challenger_a=write_fake_bundle(artifacts, "challenger-a", with_model=True),
            challenger_b=write_fake_bundle(artifacts, "challenger-b", with_model=True),
            signing_key=signing_key,
            etcd_passwords=passwords,
        )
    finally:
        client_channel.close()
        loop.run(server.stop(0.5))
        loop.close()
