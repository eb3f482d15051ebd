"""A three-member etcd cluster: killing the leader mid-stream loses no acknowledged
control-plane write, and promotions keep working."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from etcd3aio import Etcd3Client
from etcd3aio.maintenance import MaintenanceService

from control_plane.auth.credentials import create_credentials
from control_plane.bootstrap import bootstrap_baseline_async, ensure_signing_key
from control_plane.config import ControlPlaneConfig
from control_plane.server import create_server
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.etcd.local_cluster import LocalEtcdCluster
from recmesh.etcd.session import EtcdSession
from testkit.promotion_flow import PromotionFlow
from tests.control_plane.harness import TEST_PRINCIPALS, write_fake_bundle

WRITES = 60
KILL_AFTER = 20


async def leader_index(cluster: LocalEtcdCluster) -> int:
    assert cluster.passwords is not None
    for index, member in enumerate(cluster.members):
        session = EtcdSession([member.endpoint], credentials=cluster.passwords.root)
        await session.open()
        try:
            status = await session.call(lambda c: _maintenance(c).status(timeout=2))
        finally:
            await session.close()
        if status.leader == status.header.member_id:
            return index
    raise AssertionError("no member reports itself leader")


def _maintenance(client: Etcd3Client) -> MaintenanceService:
    assert client.maintenance is not None
    return client.maintenance


@pytest.mark.slow
def test_leader_killed_during_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """60 comments written one after another; the leader is SIGKILLed after 20. Every
    comment the control plane acknowledged is in etcd afterwards, and a full
    evaluate-approve-promote flow then moves the pointer."""
    cluster = LocalEtcdCluster(tmp_path / "etcd")
    cluster.start()
    passwords = cluster.secure(tmp_path / "etcd-credentials")
    as_control_plane = passwords.control_plane
    store = LocalArtifactStore(tmp_path / "artifacts")
    credentials = create_credentials(tmp_path / "credentials", TEST_PRINCIPALS)
    signing_key = ensure_signing_key(tmp_path / "credentials").private
    baseline = write_fake_bundle(store, "baseline", with_model=False)
    challenger = write_fake_bundle(store, "challenger", with_model=True)

    async def main() -> tuple[list[str], set[str], str]:
        await bootstrap_baseline_async(
            cluster.endpoints,
            store.root,
            baseline.manifest_sha256,
            signing_key=signing_key,
            credentials=as_control_plane,
        )
        started = await create_server(
            ControlPlaneConfig(
                artifacts_dir=store.root,
                credentials_file=credentials.principals,
                signing_key=signing_key,
                etcd_endpoints=tuple(cluster.endpoints),
                port=0,
                etcd_timeout_s=3.0,
                etcd_credentials=as_control_plane,
            )
        )
        server, port = started.server, started.port
        acknowledged: list[str] = []
        failures: list[grpc.StatusCode] = []
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                flow = PromotionFlow.over(channel, credentials.client_tokens)
                cp = flow.stub
                await flow.register(challenger.manifest_sha256)
                experiment = await flow.create_experiment(challenger.version_id)
                for n in range(WRITES):
                    if n == KILL_AFTER:
                        cluster.members[await leader_index(cluster)].kill()
                    try:
                        review = await cp.SubmitReview(
                            pb.SubmitReviewRequest(
                                experiment_id=experiment.experiment_id,
                                verdict=records_pb2.REVIEW_VERDICT_COMMENT,
                                comment=f"note {n}",
                            ),
                            metadata=flow.auth("alice"),
                            timeout=10,
                        )
                        acknowledged.append(review.review.review_id)
                    except grpc.aio.AioRpcError as exc:
                        failures.append(exc.code())
                listed = await cp.ListReviews(
                    pb.ListReviewsRequest(experiment_id=experiment.experiment_id),
                    metadata=flow.auth("alice"),
                )
                stored = {r.review_id for r in listed.reviews}
                await flow.pass_and_approve(experiment)
                pointer = await flow.promote(experiment.experiment_id)
                assert set(failures) <= {grpc.StatusCode.UNAVAILABLE}
                print(f"acknowledged {len(acknowledged)} of {WRITES}, unavailable {len(failures)}")
                return acknowledged, stored, pointer.serving_version
        finally:
            await server.stop(0.2)

    try:
        acknowledged, stored, serving = asyncio.run(main())
    finally:
        cluster.stop()
    assert len(acknowledged) >= WRITES - 5
    assert set(acknowledged) <= stored
    assert serving == challenger.version_id
