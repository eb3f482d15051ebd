"""A version whose artifacts live only in an S3 bucket is registered, promoted and served:
the control plane and the four services configured with `s3://bucket/prefix` (the real
S3-compatible server on loopback), no local artifact directory anywhere."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.artifacts.location import S3Location
from recmesh.artifacts.s3_store import S3ArtifactStore
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.writer import WrittenBundle
from recmesh.etcd.local_server import LocalEtcd
from tests.fixtures_serving import ServingVersions
from tests.s3_fixtures import SeaweedS3
from tests.services.control_plane_mesh import control_plane_and_mesh
from tests.services.mesh_calls import wait_for_version

_CHUNK = 256 * 1024


def _blobs(store: LocalArtifactStore, bundle: WrittenBundle) -> dict[str, bytes]:
    """The bundle's artifacts by name, manifest last (it names the others)."""
    manifest = bundle.manifest
    named = {"snapshot": store.get_bytes(manifest.snapshot.sha256)}
    if manifest.model is not None:
        named["model"] = store.get_bytes(manifest.model.sha256)
    named["manifest"] = store.get_bytes(bundle.manifest_sha256)
    return named


async def _upload_requests(name: str, data: bytes) -> AsyncIterator[pb.UploadArtifactRequest]:
    yield pb.UploadArtifactRequest(header=pb.ArtifactHeader(name=name, size_bytes=len(data)))
    for start in range(0, len(data), _CHUNK):
        yield pb.UploadArtifactRequest(chunk=data[start : start + _CHUNK])


def test_version_stored_only_in_the_bucket_is_registered_promoted_and_served(
    etcd_server: LocalEtcd,
    serving_versions: ServingVersions,
    seaweed_s3: SeaweedS3,
    s3_location: S3Location,
    s3_environ: dict[str, str],
    tmp_path: Path,
) -> None:
    """The baseline is written into the bucket and bootstrapped from it; the challenger's
    snapshot, model and manifest are streamed through UploadArtifact into the bucket,
    registered (every artifact read back and verified from S3), promoted, and the front
    then answers from it, every service having loaded it from the bucket."""
    local = LocalArtifactStore(serving_versions.store_dir)
    baseline, challenger = serving_versions.baseline, serving_versions.xgboost
    bucket = S3ArtifactStore(seaweed_s3.client(), s3_location)
    for data in _blobs(local, baseline).values():
        bucket.put_bytes(data)

    async def main() -> None:
        async with control_plane_and_mesh(
            etcd_server,
            s3_location,
            baseline.manifest_sha256,
            tmp_path,
            state_dir=tmp_path / "serving-state",
        ) as cm:
            mesh, flow = cm.mesh, cm.flow
            await wait_for_version(mesh.front, baseline.version_id)
            for name, data in _blobs(local, challenger).items():
                uploaded = await flow.stub.UploadArtifact(
                    _upload_requests(name, data), metadata=flow.auth("alice")
                )
                assert uploaded.artifact.uri.startswith(f"s3://{s3_location.bucket}/")
            assert await flow.register(challenger.manifest_sha256) == challenger.version_id
            registered = await flow.stub.GetModelVersion(
                pb.GetModelVersionRequest(version_id=challenger.version_id),
                metadata=flow.auth("alice"),
            )
            uris = [artifact.uri for artifact in registered.model_version.artifacts]
            assert uris
            assert all(uri.startswith(f"s3://{s3_location.bucket}/artifacts/") for uri in uris)
            response = await cm.promote_and_serve(challenger)
            assert len(response.items) == 10

    asyncio.run(main())
    assert bucket.exists(challenger.manifest_sha256)
    assert not (tmp_path / "artifacts").exists()
