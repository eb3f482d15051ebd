"""The serving pointer attacked through etcd, with the real control plane and the real mesh.

etcd is treated as a transport that may lie: a record written straight into etcd,
bypassing the control plane (unsigned, signed by another key, garbage, or an earlier
genuinely signed record written back), is not served. Every service keeps serving
what it serves, logs `pointer_record_refused`, counts it and stays SERVING; restarted
over a damaged pointer it serves its last verified record from its local copy; a
`Rollback(target)` through the control plane repairs the pointer and is followed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
from structlog.testing import capture_logs

from control_plane.auth.credentials import create_credentials
from control_plane.bootstrap import bootstrap_baseline_async, ensure_signing_key
from control_plane.config import ControlPlaneConfig
from control_plane.server import create_server
from local_mesh.health_wait import is_serving
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.pointer_codec import encode_pointer
from recmesh.etcd.users import CONTROL_PLANE_USER, ROOT_USER
from recmesh.signing.keys import PublicKeyRing
from testkit.promotion_flow import PromotionFlow
from tests.control_plane.harness import TEST_PRINCIPALS
from tests.fixtures_serving import ServingVersions
from tests.mesh_harness import RunningMesh, put_pointer_value, running_mesh
from tests.pointer_signing import PointerKey
from tests.reliability.load import report
from tests.services.mesh_calls import recommend, wait_for_version

SERVICES = ("candidates", "features", "ranking", "recommend")
KEYS = KeySchema()


def _refusals(mesh: RunningMesh, reason: str) -> dict[str, float]:
    return {
        name: mesh.metrics[name].registry.get_sample_value(
            "recmesh_serving_pointer_refused_total", {"component": name, "reason": reason}
        )
        or 0.0
        for name in SERVICES
    }


async def _refused_by_all(mesh: RunningMesh, reason: str, within_s: float = 10.0) -> None:
    """Waits until every service counted one refusal for `reason`."""
    deadline = time.monotonic() + within_s
    while _refusals(mesh, reason) != dict.fromkeys(SERVICES, 1.0):
        assert time.monotonic() < deadline, _refusals(mesh, reason)
        await asyncio.sleep(0.05)


async def _all_serving(mesh: RunningMesh) -> bool:
    addresses = [f"127.0.0.1:{h.port}" for h in mesh.handles()]
    answers = await asyncio.gather(*(asyncio.to_thread(is_serving, a) for a in addresses))
    return all(answers)


async def _still_serves(mesh: RunningMesh, version: str, seconds: float = 1.0) -> int:
    """Recommends for `seconds`; every answer must come from version, whole. Returns how
    many answers were checked."""
    answered = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = await recommend(mesh.front, "196")
        assert response.serving_version == version
        assert not response.degraded, response.degraded_detail
        answered += 1
        await asyncio.sleep(0.05)
    return answered


def test_records_written_behind_the_control_plane_are_not_served(
    etcd_server: LocalEtcd, serving_versions: ServingVersions, tmp_path: Path
) -> None:
    """With the XGBoost version promoted through the control plane: an unsigned record, a
    record signed by another key, garbage and the baseline's own earlier signed record,
    each written straight into etcd, leave every service on the XGBoost version, SERVING,
    each refusal logged and counted per service; restarted over the garbage, the mesh
    serves XGBoost from its local copies; `Rollback(target=baseline)` repairs the
    pointer and the mesh follows it."""
    baseline, challenger = serving_versions.baseline, serving_versions.xgboost
    credentials = create_credentials(tmp_path / "credentials", TEST_PRINCIPALS)
    key = ensure_signing_key(tmp_path / "credentials")
    ring = PublicKeyRing.from_files([key.public])
    state_dir = tmp_path / "serving-state"
    endpoint = etcd_server.endpoint
    as_control_plane = etcd_server.credentials(CONTROL_PLANE_USER)
    root = etcd_server.credentials(ROOT_USER)

    async def main() -> None:
        await bootstrap_baseline_async(
            [endpoint], serving_versions.store_dir, baseline.manifest_sha256,
            signing_key=key.private, credentials=as_control_plane,
        )  # fmt: skip
        started = await create_server(
            ControlPlaneConfig(
                artifacts_dir=serving_versions.store_dir,
                credentials_file=credentials.principals,
                signing_key=key.private,
                etcd_endpoints=(endpoint,),
                etcd_credentials=as_control_plane,
                port=0,
            )
        )
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{started.port}") as channel:
                flow = PromotionFlow.over(channel, credentials.client_tokens)
                await _attacks(flow)
        finally:
            await started.server.stop(0.2)

    async def _attacks(flow: PromotionFlow) -> None:
        async with running_mesh(
            etcd_server, serving_versions.store_dir, tmp_path / "imp.jsonl",
            pointer_keys=ring, state_dir=state_dir,
        ) as mesh:  # fmt: skip
            await wait_for_version(mesh.front, baseline.version_id)
            baseline_record = (
                await flow.stub.GetPointer(pb.GetPointerRequest(), metadata=flow.auth("serving"))
            ).pointer
            await flow.register(challenger.manifest_sha256)
            await flow.promote_version(challenger.version_id)
            await wait_for_version(mesh.front, challenger.version_id, within_s=30)

            unsigned = records_pb2.ServingPointer(
                serving_version=baseline.version_id,
                manifest_sha256=baseline.manifest_sha256,
                set_by="root",
                sequence=10**12,
            )
            foreign = PointerKey.generate().signed(
                baseline.version_id, baseline.manifest_sha256, sequence=10**12
            )
            replay = records_pb2.ServingPointer()
            replay.CopyFrom(baseline_record)
            replay.ClearField("revision")
            attacks = {
                "unsigned": encode_pointer(unsigned),
                "unknown_key": encode_pointer(foreign),
                "replayed": encode_pointer(replay),
                "malformed": b'{"servingVersion": ',
            }
            for reason, value in attacks.items():
                with capture_logs() as logs:
                    await put_pointer_value(endpoint, value, root=root)
                    answered = await _still_serves(mesh, challenger.version_id)
                refused = [e for e in logs if e["event"] == "pointer_record_refused"]
                assert sorted(e["component"] for e in refused) == sorted(SERVICES), reason
                assert {e["reason"] for e in refused} == {reason}
                assert _refusals(mesh, reason) == dict.fromkeys(SERVICES, 1.0)
                assert await _all_serving(mesh)
                report(
                    f"pointer attack {reason}",
                    f"refused by {len(refused)} of 4 services, {answered} answers in 1 s all "
                    f"{challenger.version_id}, all SERVING",
                )

        # The pointer now holds garbage: restarted, the mesh serves its last verified record.
        restarted_at = time.monotonic()
        async with running_mesh(
            etcd_server, serving_versions.store_dir, tmp_path / "imp.jsonl",
            pointer_keys=ring, state_dir=state_dir,
        ) as mesh:  # fmt: skip
            await wait_for_version(mesh.front, challenger.version_id, within_s=60)
            first_answer_s = time.monotonic() - restarted_at
            # Each service serves its local copy at start and reads etcd's damaged record
            # when its watch starts, which may come after the first answer.
            await _refused_by_all(mesh, "malformed")
            answer = await recommend(mesh.front, "196")
            assert not answer.degraded
            damaged = await flow.stub.GetPointer(
                pb.GetPointerRequest(), metadata=flow.auth("serving")
            )
            assert damaged.damaged.key == KEYS.pointer
            repaired_at = time.monotonic()
            await flow.stub.Rollback(
                pb.RollbackRequest(
                    reason="garbage written behind the control plane",
                    target_version=baseline.version_id,
                ),
                metadata=flow.auth("olga"),
            )
            await wait_for_version(mesh.front, baseline.version_id, within_s=30)
            followed_s = time.monotonic() - repaired_at
            assert await _all_serving(mesh)
            report(
                "pointer attack restart over garbage",
                f"first answer ({challenger.version_id}, from the local copy) "
                f"{first_answer_s:.1f} s after the restart; rollback --to baseline followed "
                f"{followed_s:.2f} s after it was issued",
            )

    asyncio.run(main())
