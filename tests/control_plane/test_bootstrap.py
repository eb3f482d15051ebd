"""bootstrap_baseline: what `recmesh up` calls to register the baseline and point at it."""

from __future__ import annotations

import uuid
from pathlib import Path

from control_plane.bootstrap import bootstrap_baseline, ensure_signing_key
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.users import CONTROL_PLANE_USER
from tests.control_plane.harness import write_fake_bundle


def test_bootstrap_is_idempotent(shared_etcd: LocalEtcd, tmp_path: Path) -> None:
    """The first call registers the baseline and sets the pointer (revision filled in);
    the second changes nothing and returns the same pointer."""
    store = LocalArtifactStore(tmp_path)
    bundle = write_fake_bundle(store, "baseline", with_model=False)
    prefix = f"/bootstrap-test/{uuid.uuid4().hex[:8]}"
    key = ensure_signing_key(tmp_path / "credentials").private
    shared_etcd.allow(prefix)
    as_control_plane = shared_etcd.credentials(CONTROL_PLANE_USER)
    first, second = (
        bootstrap_baseline(
            [shared_etcd.endpoint],
            tmp_path,
            bundle.manifest_sha256,
            prefix=prefix,
            signing_key=key,
            credentials=as_control_plane,
        )
        for _ in range(2)
    )
    assert (first.registered, first.pointer_initialized) == (True, True)
    assert (second.registered, second.pointer_initialized) == (False, False)
    assert first.pointer is not None
    assert first.pointer.serving_version == bundle.version_id
    assert first.pointer.set_by == "recmesh-up"
    assert first.pointer.revision > 0
    assert second.pointer == first.pointer
    assert second.model_version == first.model_version
