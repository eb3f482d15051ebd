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

from etcd3aio import EtcdConnectionError
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from recmesh.etcd.client import etcd_client
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.pointer_codec import encode_pointer
from recmesh.rpc.tls import TlsFiles
from recmesh.signing.keys import PublicKeyRing
from recmesh.telemetry.metrics import ServerMetrics
from services.candidates.server import CandidatesConfig
from services.candidates.server import create_server as create_candidates
from services.common.load_policy import LoadPolicy
from services.common.options import CommonOptions
from services.common.runner import ServerHandle
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
    etcd_endpoint: str,
    artifacts: Path,
    loads: LoadPolicy | None = None,
    prefix: str = KEYS.prefix,
    *,
    pointer_keys: PublicKeyRing = TEST_KEY.ring,
    state_dir: Path | None = None,
) -> CommonOptions:
    """Options of a server in the test process. Without state_dir, a fresh directory
    under the artifacts' parent keeps the servers' accepted pointer records."""
    if state_dir is None:
        artifacts.parent.mkdir(parents=True, exist_ok=True)
        state_dir = Path(tempfile.mkdtemp(prefix="serving-state-", dir=artifacts.parent))
    return CommonOptions(
        host="127.0.0.1",
        port=0,
        etcd_endpoints=(etcd_endpoint,),
        etcd_prefix=prefix,
        artifacts_dir=artifacts,
        span_file=None,
        metrics_port=None,
        log_level="INFO",
        drain_seconds=0.5,
        pointer_keys=pointer_keys,
        state_dir=state_dir,
        loads=loads or LoadPolicy(),
    )


def _provider(service: str, exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


async def write_pointer(
    etcd_endpoint: str,
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
        etcd_endpoint,
        encode_pointer(key.signed(version_id, manifest_sha256)),
        tls=tls,
        prefix=prefix,
    )


async def put_pointer_value(
    etcd_endpoint: str, value: bytes, *, tls: TlsFiles | None = None, prefix: str = KEYS.prefix
) -> int:
    """Puts any bytes at the pointer key (an attacker's write, or a signed record);
    returns the new mod_revision."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        try:
            async with etcd_client([etcd_endpoint], tls) as client:
                assert client.kv is not None
                response = await client.kv.put(KeySchema(prefix).pointer, value)
                return int(response.header.revision)
        except EtcdConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


@asynccontextmanager
async def running_mesh(
    etcd_endpoint: str,
    artifacts: Path,
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
    common = common_options(
        etcd_endpoint, artifacts, loads, prefix, pointer_keys=pointer_keys, state_dir=state_dir
    )
    metrics = {name: ServerMetrics(name) for name in ("candidates", "features", "ranking",
                                                      "recommend")}
    features = await create_features(
        FeaturesConfig(common=common), _provider("recmesh-features", exporter),
        metrics["features"],
    )
    candidates = await create_candidates(
        CandidatesConfig(common=common), _provider("recmesh-candidates", exporter),
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
