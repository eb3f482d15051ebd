"""Version loads heal on the real mesh (real etcd, four real gRPC servers on loopback).

- A version whose model blob is missing from the artifact store for the first load
  attempts is served once the blob is back, with no pointer change.
- A rollback issued while a version loads slowly (its model blob is a FIFO nobody
  writes: every read of it hangs) wins at once, and the slow load never serves.

Each test breaks a private copy of the session's artifact store.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.session import EtcdSession
from recmesh.etcd.users import SERVING_USER
from services.common.load_policy import LoadPolicy
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import KEYS, RunningMesh, running_mesh, write_pointer
from tests.services.mesh_calls import recommend, wait_for_version

COMPONENTS = ("candidates", "features", "ranking", "recommend")
# Quick retries; a window long enough that every service stays SERVING throughout.
FAST_RETRIES = LoadPolicy(first_retry_s=0.2, max_retry_s=0.5, jitter=0.1, lag_window_s=30.0)


@pytest.fixture
def private_store(serving_versions: ServingVersions, tmp_path: Path) -> LocalArtifactStore:
    """A copy of the session's artifact store that the test may break."""
    root = tmp_path / "artifacts"
    shutil.copytree(serving_versions.store_dir, root)
    return LocalArtifactStore(root)


def _sample(mesh: RunningMesh, component: str, name: str, **labels: str) -> float:
    value = mesh.metrics[component].registry.get_sample_value(
        name, {"component": component, **labels}
    )
    return 0.0 if value is None else value


async def _until(condition: Callable[[], bool], what: str, within_s: float = 20.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.02)


async def _health(mesh: RunningMesh) -> dict[str, int]:
    statuses = {}
    for handle in mesh.handles():
        async with grpc.aio.insecure_channel(f"127.0.0.1:{handle.port}") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=2
            )
            statuses[handle.component] = reply.status
    return statuses


async def _pointer_revision(etcd: LocalEtcd) -> int:
    """The pointer's mod_revision, read as the serving user."""
    session = EtcdSession([etcd.endpoint], credentials=etcd.credentials(SERVING_USER))
    client = await session.open()
    try:
        await session.login()
        assert client.kv is not None
        response = await client.kv.get(KEYS.pointer)
        return int(response.kvs[0].mod_revision)
    finally:
        await session.close()


async def _whole_answer_from(front: str, version: str, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while True:
        response = await recommend(front, "196")
        if response.serving_version == version and not response.degraded:
            return
        assert time.monotonic() < deadline, f"no whole answer from {version}"
        await asyncio.sleep(0.05)


async def _all_hold(mesh: RunningMesh, version: str) -> None:
    """Waits until every service answers with version and reports SERVING."""
    await wait_for_version(mesh.front, version)
    await _until(
        lambda: all(
            _sample(mesh, c, "recmesh_serving_version_loaded", version=version) == 1
            for c in COMPONENTS
        ),
        f"every service holds {version}",
    )
    serving = health_pb2.HealthCheckResponse.SERVING
    deadline = time.monotonic() + 5
    while await _health(mesh) != dict.fromkeys(COMPONENTS, serving):
        assert time.monotonic() < deadline, "not every service became SERVING"
        await asyncio.sleep(0.02)


def _report(name: str, text: str) -> None:
    """A figure for docs/reliability.md (shown with `pytest -s`)."""
    print(f"[reliability] {name}: {text}", flush=True)


def _model_path(store: LocalArtifactStore, versions: ServingVersions) -> Path:
    model = versions.xgboost.manifest.model
    assert model is not None
    return store.path_of(model.sha256)


def test_artifact_missing_for_the_first_loads_is_served_once_it_appears(
    etcd_server: LocalEtcd,
    serving_versions: ServingVersions,
    private_store: LocalArtifactStore,
    tmp_path: Path,
) -> None:
    """The pointer names the XGBoost version while its model blob is renamed away: every
    service fails at least two attempts, keeps serving the baseline (health SERVING,
    whole answers) and refuses requests for the new version at once with the reason.
    Once the blob is back, the mesh serves the new version with the pointer unchanged."""
    baseline, xgboost = serving_versions.baseline, serving_versions.xgboost
    model = _model_path(private_store, serving_versions)
    hidden = model.with_name("hidden-model")
    serving = health_pb2.HealthCheckResponse.SERVING

    async def main() -> None:
        await write_pointer(etcd_server, baseline.version_id, baseline.manifest_sha256)
        async with running_mesh(
            etcd_server, private_store.root, tmp_path / "imp.jsonl", FAST_RETRIES
        ) as mesh:
            await _all_hold(mesh, baseline.version_id)
            model.rename(hidden)
            revision = await write_pointer(
                etcd_server, xgboost.version_id, xgboost.manifest_sha256
            )
            name = "recmesh_serving_version_load_attempts_total"
            await _until(
                lambda: all(
                    _sample(mesh, c, name, outcome="failed") >= 2 for c in COMPONENTS
                ),
                "every service failed two load attempts",
            )
            assert await _health(mesh) == dict.fromkeys(COMPONENTS, serving)
            response = await recommend(mesh.front, "196")
            assert response.serving_version == baseline.version_id
            assert not response.degraded

            async with grpc.aio.insecure_channel(
                f"127.0.0.1:{mesh.candidates.port}"
            ) as channel:
                started = time.monotonic()
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await candidates_pb2_grpc.CandidatesServiceStub(channel).GetCandidates(
                        candidates_pb2.GetCandidatesRequest(
                            user_id="196", serving_version=xgboost.version_id
                        ),
                        timeout=5,
                    )
                assert time.monotonic() - started < 0.5
            assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "last load failed" in (refused.value.details() or "")
            assert "ArtifactNotFoundError" in (refused.value.details() or "")

            failed = {c: int(_sample(mesh, c, name, outcome="failed")) for c in COMPONENTS}
            hidden.rename(model)
            restored = time.monotonic()
            # Each service loads on its own schedule: an answer may degrade until the
            # last one's next retry (at most max_retry_s, sooner when asked for it).
            await _whole_answer_from(mesh.front, xgboost.version_id, within_s=20)
            _report(
                "artifact missing, then back",
                f"failed attempts before it came back {failed}; first whole answer from "
                f"the new version {time.monotonic() - restored:.2f} s after",
            )
            await _until(
                lambda: all(_sample(mesh, c, name, outcome="loaded") >= 1 for c in COMPONENTS),
                "every service loaded the version",
            )
            for component in COMPONENTS:
                assert _sample(
                    mesh, component, "recmesh_serving_version_load_retries_total"
                ) >= 1
                assert _sample(
                    mesh,
                    component,
                    "recmesh_serving_version_loaded",
                    version=xgboost.version_id,
                ) == 1
            assert await _pointer_revision(etcd_server) == revision

    asyncio.run(main())


def _release_readers(fifo: Path) -> bool:
    """Opens the FIFO for writing and closes it: every reader blocked on it gets EOF.
    Returns whether anybody was reading it."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno != errno.ENXIO:  # ENXIO: nobody is reading it
            raise
        return False
    os.close(fd)
    return True


def test_rollback_issued_while_a_version_loads_slowly_wins(
    etcd_server: LocalEtcd,
    serving_versions: ServingVersions,
    private_store: LocalArtifactStore,
    tmp_path: Path,
) -> None:
    """The pointer moves to the XGBoost version, whose model blob hangs every read, and
    back to the baseline while all four services are loading it: within a second every
    service follows the rollback (no load in progress, the baseline served whole, health
    SERVING) though the slow loads have not returned; when they do, their results are
    dropped and nothing switches or retries."""
    baseline, xgboost = serving_versions.baseline, serving_versions.xgboost
    model = _model_path(private_store, serving_versions)
    saved = model.with_name("saved-model")
    fifo_alias = model.with_name("hanging-model")
    serving = health_pb2.HealthCheckResponse.SERVING
    loading = "recmesh_serving_version_loading"

    async def main() -> None:
        await write_pointer(etcd_server, baseline.version_id, baseline.manifest_sha256)
        async with running_mesh(
            etcd_server, private_store.root, tmp_path / "imp.jsonl", FAST_RETRIES
        ) as mesh:
            await _all_hold(mesh, baseline.version_id)
            model.rename(saved)
            os.mkfifo(model)
            os.link(model, fifo_alias)
            try:
                await write_pointer(
                    etcd_server, xgboost.version_id, xgboost.manifest_sha256
                )
                await _until(
                    lambda: all(
                        _sample(mesh, c, loading, version=xgboost.version_id) == 1
                        for c in COMPONENTS
                    ),
                    "every service is loading the slow version",
                )
                await asyncio.sleep(0.3)

                issued = time.monotonic()
                await write_pointer(
                    etcd_server, baseline.version_id, baseline.manifest_sha256
                )
                await _until(
                    lambda: all(
                        _sample(mesh, c, loading, version=xgboost.version_id) == 0
                        and _sample(
                            mesh,
                            c,
                            "recmesh_serving_version_pointer",
                            version=baseline.version_id,
                        )
                        == 1
                        for c in COMPONENTS
                    ),
                    "every service follows the rollback",
                    within_s=1.0,
                )
                followed_s = time.monotonic() - issued
                assert followed_s < 1.0
                _report(
                    "rollback during a hung load",
                    f"all four services followed the rollback {followed_s * 1000:.0f} ms "
                    "after the pointer write, their loads still hung",
                )
                assert await _health(mesh) == dict.fromkeys(COMPONENTS, serving)
                for user in ("196", "22", "305"):
                    response = await recommend(mesh.front, user)
                    assert response.serving_version == baseline.version_id
                    assert not response.degraded
                # The rollback won while the slow loads still hung on the FIFO: put the
                # real blob back for anyone who opens the path from now on, then give
                # the hanging readers EOF.
                saved.rename(model)
                assert _release_readers(fifo_alias), "the slow loads had already returned"
            finally:
                if saved.exists():
                    saved.rename(model)
                for _ in range(5):
                    _release_readers(fifo_alias)
                    await asyncio.sleep(0.1)

            await asyncio.sleep(0.5)
            attempts = "recmesh_serving_version_load_attempts_total"
            for component in COMPONENTS:
                assert _sample(mesh, component, attempts, outcome="discarded") == 1
                assert _sample(mesh, component, attempts, outcome="failed") == 0
                assert _sample(mesh, component, "recmesh_serving_version_load_retries_total") == 0
                assert _sample(
                    mesh, component, "recmesh_serving_version_loaded", version=baseline.version_id
                ) == 1
            response = await recommend(mesh.front, "196")
            assert response.serving_version == baseline.version_id

    asyncio.run(main())
