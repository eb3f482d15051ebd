"""AuditLog: the change and its entry in one transaction; concurrent appends form one chain."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import pytest

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.bootstrap import bootstrap_baseline
from control_plane.clock import utc_now
from control_plane.store.errors import ConflictError
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.txn import KeyAbsent, Put
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.users import ROOT_USER
from tests.control_plane.harness import ControlPlaneHarness


def test_concurrent_appends_form_one_unbroken_chain(shared_etcd: LocalEtcd) -> None:
    """40 concurrent commits all land, with sequences 1..40, each linked to the one before."""

    async def scenario() -> None:
        kv = EtcdKV([shared_etcd.endpoint], credentials=shared_etcd.credentials(ROOT_USER))
        await kv.connect()
        keys = KeySchema(f"/audit-test/{uuid.uuid4().hex[:8]}")
        audit = AuditLog(kv, keys, utc_now)
        committed = await asyncio.gather(
            *(
                audit.commit(
                    AuditDraft("alice", "review", f"exp-{n}"),
                    [KeyAbsent(keys.review(f"exp-{n}", "r"))],
                    [Put(keys.review(f"exp-{n}", "r"), b"{}")],
                )
                for n in range(40)
            )
        )
        assert sorted(c.entry.sequence for c in committed) == list(range(1, 41))
        entries = await audit.entries()
        assert [e.sequence for e in entries] == list(range(1, 41))
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
        assert (await audit.verify()).ok
        assert [e.sequence for e in await audit.entries(after=35, limit=3)] == [36, 37, 38]
        await kv.close()

    asyncio.run(scenario())


def test_failed_change_guard_appends_nothing(shared_etcd: LocalEtcd) -> None:
    """A change whose own guard fails raises ConflictError with that guard; no entry is added."""

    async def scenario() -> None:
        kv = EtcdKV([shared_etcd.endpoint], credentials=shared_etcd.credentials(ROOT_USER))
        await kv.connect()
        keys = KeySchema(f"/audit-test/{uuid.uuid4().hex[:8]}")
        audit = AuditLog(kv, keys, utc_now)
        record = keys.model("sv-0000000000000001")
        await audit.commit(
            AuditDraft("alice", "register_model", "v1"), [KeyAbsent(record)], [Put(record, b"{}")]
        )
        with pytest.raises(ConflictError) as caught:
            await audit.commit(
                AuditDraft("alice", "register_model", "v1"),
                [KeyAbsent(record)],
                [Put(record, b"{}")],
            )
        assert caught.value.failed == (KeyAbsent(record),)
        assert len(await audit.entries()) == 1
        await kv.close()

    asyncio.run(scenario())


def test_a_garbage_head_is_rebuilt_from_the_entries_and_audited(
    control_plane: ControlPlaneHarness,
) -> None:
    """A head that does not parse, written as root: audit --verify names it, the next
    `recmesh up` bootstrap and a Rollback still go through, the first write rebuilds the
    head from the last entry and appends `audit_head_repaired` with what it found, and
    the chain verifies again."""
    cp = control_plane
    baseline = cp.pointer()
    cp.promote(cp.approved_experiment(cp.challenger_a).experiment_id)
    last = cp.audit_entries()[-1]
    cp.etcd_put(cp.keys.audit_head, b"not a head")
    verified = cp.verify_audit()
    assert not verified.ok
    assert f"the audit head {cp.keys.audit_head} is malformed" in verified.problem
    result = bootstrap_baseline(
        [cp.etcd_endpoint],
        cp.artifacts.root,
        cp.baseline.manifest_sha256,
        prefix=cp.keys.prefix,
        signing_key=cp.signing_key.private,
        credentials=cp.etcd_passwords.control_plane,
    )
    assert result.damaged is None
    rolled = cp.stub.Rollback(
        pb.RollbackRequest(reason="after the head repair"), metadata=cp.auth("olga")
    )
    assert rolled.pointer.serving_version == baseline.serving_version
    entries = cp.audit_entries()
    repair = next(e for e in entries if e.action == "audit_head_repaired")
    assert repair.sequence == last.sequence + 1
    assert repair.prev_hash == last.hash
    assert repair.details["found"] == "not a head"
    assert repair.details["rebuilt_from_sequence"] == str(last.sequence)
    assert entries[-1].action == "rollback"
    assert cp.verify_audit().ok
