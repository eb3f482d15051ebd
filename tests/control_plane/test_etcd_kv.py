"""EtcdKV: reads at one revision, guarded commits that name failed guards, typed errors."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from control_plane.store.errors import ConflictError, KeyNotFoundError, StoreUnavailableError
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.txn import KeyAbsent, KeyAt, NothingCreatedAfter, Put
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.users import ROOT_USER


def _prefix() -> str:
    return f"/kv-test/{uuid.uuid4().hex[:8]}/"


def test_commit_applies_every_put_at_one_revision(shared_etcd: LocalEtcd) -> None:
    """All puts of a commit land at the revision it returns; read sees them together."""

    async def scenario() -> None:
        kv = EtcdKV([shared_etcd.endpoint], credentials=shared_etcd.credentials(ROOT_USER))
        await kv.connect()
        root = _prefix()
        revision = await kv.commit(
            [KeyAbsent(root + "a")], [Put(root + "a", b"1"), Put(root + "b", b"2")]
        )
        reading = await kv.read(keys=[root + "a", root + "missing"], prefixes=[root])
        assert reading.revision == revision
        found = reading.find(root + "a")
        assert found is not None
        assert (found.value, found.mod_revision) == (b"1", revision)
        assert reading.find(root + "missing") is None
        assert [v.key for v in reading.under(root)] == [root + "a", root + "b"]
        with pytest.raises(KeyNotFoundError):
            await kv.get(root + "missing")
        await kv.close()

    asyncio.run(scenario())


def test_conflict_names_only_the_guards_that_failed(shared_etcd: LocalEtcd) -> None:
    """When one guard fails, nothing is written and ConflictError lists exactly that guard."""

    async def scenario() -> None:
        kv = EtcdKV([shared_etcd.endpoint], credentials=shared_etcd.credentials(ROOT_USER))
        await kv.connect()
        root = _prefix()
        first = await kv.commit([], [Put(root + "pointer", b"v1")])
        await kv.commit([], [Put(root + "pointer", b"v2")])
        stale = KeyAt(root + "pointer", first)
        fresh = KeyAbsent(root + "record")
        with pytest.raises(ConflictError) as caught:
            await kv.commit([stale, fresh], [Put(root + "record", b"x")])
        assert caught.value.failed == (stale,)
        assert caught.value.failed_on(root + "pointer")
        assert await kv.find(root + "record") is None
        await kv.close()

    asyncio.run(scenario())


def test_nothing_created_after_guards_a_prefix(shared_etcd: LocalEtcd) -> None:
    """The guard holds over an empty or unchanged prefix and fails once a key is added."""

    async def scenario() -> None:
        kv = EtcdKV([shared_etcd.endpoint], credentials=shared_etcd.credentials(ROOT_USER))
        await kv.connect()
        root = _prefix()
        seen = (await kv.read(prefixes=[root + "reviews/"])).revision
        guard = NothingCreatedAfter(root + "reviews/", seen)
        await kv.commit([guard], [Put(root + "a", b"1")])
        await kv.commit([], [Put(root + "reviews/r1", b"approve")])
        with pytest.raises(ConflictError) as caught:
            await kv.commit([guard], [Put(root + "b", b"2")])
        assert caught.value.failed == (guard,)
        await kv.close()

    asyncio.run(scenario())


def test_unreachable_etcd_is_unavailable_with_its_address(etcd_server: LocalEtcd) -> None:
    """With etcd stopped, reads and writes raise StoreUnavailableError naming the endpoint,
    and a write says it was not confirmed."""
    endpoint = etcd_server.endpoint
    root = etcd_server.credentials(ROOT_USER)
    etcd_server.stop()

    async def scenario() -> None:
        kv = EtcdKV([endpoint], timeout_s=2.0, credentials=root)
        await kv.connect()
        with pytest.raises(StoreUnavailableError, match=f"etcd at {endpoint} is unavailable"):
            await kv.read(keys=["/x"])
        with pytest.raises(StoreUnavailableError, match="not confirmed"):
            await kv.commit([], [Put("/x", b"1")])
        await kv.close()

    asyncio.run(scenario())
