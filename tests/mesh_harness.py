"""Runs the real serving mesh in the test process: real etcd, real gRPC servers on port 0.

Every server is built by its own `create_server`, exactly as its entry point
builds it, and spans go to one in-memory exporter so a test can assert on a
whole trace. The pointer is written straight to etcd as a record signed with a real key
made for the test (`tests/pointer_signing.py`), which the servers trust.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from etcd3aio import Etcd3Client, EtcdConnectionError
from etcd3aio.kv import KVService
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from recmesh.artifacts.location import ArtifactsLocation
from recmesh.etcd.auth_setup import secure_etcd_async
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.pointer_codec import encode_pointer
from recmesh.etcd.session import EtcdSession
from recmesh.etcd.users import ROOT_USER, SERVING_USER
from recmesh.rpc.tls import TlsFiles
from recmesh.server.run import ServerHandle
from recmesh.signing.keys import PublicKeyRing
from recmesh.telemetry.metrics import ServerMetrics
from services.candidates.server import CandidatesConfig
from services.candidates.server import create_server as create_candidates
from services.common.load_policy import LoadPolicy
from services.common.options import CommonOptions
from services.features.server import FeaturesConfig
from services.features.server import create_server as create_features
from services.ranking.server import RankingConfig
from services.ranking.server import create_server as create_ranking
from services.recommend.server import RecommendConfig
from services.recommend.server import create_server as create_recommend
from tests.pointer_signing import TEST_KEY, PointerKey

KEYS = KeySchema()


@dataclass
class RunningMesh:
    """Handles of the four servers, the span exporter and the front's address."""

    candidates: ServerHandle
    features: ServerHandle
    ranking: ServerHandle
    recommend: ServerHandle
    spans: InMemorySpanExporter
    metrics: dict[str, ServerMetrics]
    impressions: Path

    @property
    def front(self) -> str:
        return f"127.0.0.1:{self.recommend.port}"

    def handles(self) -> list[ServerHandle]:
        return [self.recommend, self.ranking, self.candidates, self.features]


def common_options(
    etcd: LocalEtcd,
    artifacts: ArtifactsLocation,
    loads: LoadPolicy | None = None,
    prefix: str = KEYS.prefix,
    *,
    pointer_keys: PublicKeyRing = TEST_KEY.ring,
    state_dir: Path | None = None,
) -> CommonOptions:
    """Options of a server in the test process. Without state_dir, a fresh directory
    under the artifacts' parent (a local store's) keeps the servers' accepted pointer
    records."""
    if state_dir is None:
        assert isinstance(artifacts, Path), "a mesh over an S3 store needs a state_dir"
        artifacts.parent.mkdir(parents=True, exist_ok=True)
        state_dir = Path(tempfile.mkdtemp(prefix="serving-state-", dir=artifacts.parent))
    return CommonOptions(
        host="127.0.0.1",
        port=0,
        etcd_endpoints=(etcd.endpoint,),
        etcd_prefix=prefix,
        artifacts_dir=artifacts,
        span_file=None,
        metrics_port=None,
        log_level="INFO",
        drain_seconds=0.5,
        pointer_keys=pointer_keys,
        state_dir=state_dir,
        loads=loads or LoadPolicy(),
        etcd_credentials=etcd.credentials(SERVING_USER),
    )


def serving_etcd_arguments(etcd: LocalEtcd) -> tuple[str, ...]:
    """`--etcd-user` and `--etcd-password-file` of a serving process's command line."""
    assert etcd.passwords is not None, "the test etcd runs with auth on (LocalEtcd.secure)"
    path = etcd.passwords.path(SERVING_USER)
    return ("--etcd-user", SERVING_USER, "--etcd-password-file", str(path))


def _provider(service: str, exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


async def write_pointer(
    etcd: LocalEtcd,
    version_id: str,
    manifest_sha256: str,
    *,
    tls: TlsFiles | None = None,
    key: PointerKey = TEST_KEY,
    prefix: str = KEYS.prefix,
) -> int:
    """Sets the serving pointer straight in etcd to a record signed with key (over mutual
    TLS with tls); returns its new mod_revision.

    Retries connection errors for a few seconds: right after an etcd restart, gRPC's
    process-wide subchannel to it may still be in its reconnect backoff."""
    return await put_pointer_value(
        etcd.endpoint,
        encode_pointer(key.signed(version_id, manifest_sha256)),
        root=etcd.credentials(ROOT_USER),
        tls=tls,
        prefix=prefix,
    )


async def put_pointer_value(
    etcd_endpoint: str,
    value: bytes,
    *,
    root: EtcdCredentials,
    tls: TlsFiles | None = None,
    prefix: str = KEYS.prefix,
) -> int:
    """Puts any bytes at the pointer key as etcd's root, bypassing the control plane (an
    attacker holding root's password, or a test placing a signed record); returns the
    new mod_revision."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        try:
            return await _put_as(root, etcd_endpoint, tls, KeySchema(prefix).pointer, value)
        except EtcdConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _put_as(
    user: EtcdCredentials, endpoint: str, tls: TlsFiles | None, key: str, value: bytes
) -> int:
    session = EtcdSession([endpoint], tls=tls, credentials=user)
    await session.open()
    try:
        response = await session.call(lambda c: _kv(c).put(key, value))
        return int(response.header.revision)
    finally:
        await session.close()


def _kv(client: Etcd3Client) -> KVService:
    assert client.kv is not None
    return client.kv


@asynccontextmanager
async def running_mesh(
    etcd: LocalEtcd,
    artifacts: ArtifactsLocation,
    impressions: Path,
    loads: LoadPolicy | None = None,
    *,
    prefix: str = KEYS.prefix,
    interaction_log: Path | None = None,
    pointer_keys: PublicKeyRing = TEST_KEY.ring,
    state_dir: Path | None = None,
) -> AsyncIterator[RunningMesh]:
    """Starts features, candidates, ranking and recommend (leaf first); stops them after.
    `loads` sets every server's load retries and retry window (the default otherwise);
    `prefix` is the installation's etcd prefix; with `interaction_log` the front keeps
    that interaction log. The servers follow pointer records signed by a key of
    `pointer_keys` (the test key by default) and keep their accepted records in
    `state_dir` (a fresh directory by default; pass one to restart them with it)."""
    exporter = InMemorySpanExporter()
    if prefix != KEYS.prefix:
        assert etcd.passwords is not None
        await secure_etcd_async([etcd.endpoint], etcd.passwords, (prefix,), tls=etcd.tls)
    common = common_options(
        etcd, artifacts, loads, prefix, pointer_keys=pointer_keys, state_dir=state_dir
    )
    metrics = {
        name: ServerMetrics(name) for name in ("candidates", "features", "ranking", "recommend")
    }
    features = await create_features(
        FeaturesConfig(common=common),
        _provider("recmesh-features", exporter),
        metrics["features"],
    )
    candidates = await create_candidates(
        CandidatesConfig(common=common),
        _provider("recmesh-candidates", exporter),
        metrics["candidates"],
    )
    ranking = await create_ranking(
        RankingConfig(common=common, features_addresses=(f"127.0.0.1:{features.port}",)),
        _provider("recmesh-ranking", exporter),
        metrics["ranking"],
    )
    recommend = await create_recommend(
        RecommendConfig(
            common=common,
            candidates_addresses=(f"127.0.0.1:{candidates.port}",),
            ranking_addresses=(f"127.0.0.1:{ranking.port}",),
            impressions_path=impressions,
            interaction_log_dir=interaction_log,
        ),
        _provider("recmesh-recommend", exporter),
        metrics["recommend"],
    )
    mesh = RunningMesh(candidates, features, ranking, recommend, exporter, metrics, impressions)
    try:
        yield mesh
    finally:
        await asyncio.gather(*(h.stop(0.2) for h in mesh.handles()), return_exceptions=True)
