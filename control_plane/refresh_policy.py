"""The refresh policy: one record an operator sets, every change audited."""

from __future__ import annotations

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock, timestamp
from control_plane.refresh_rules import validate_policy
from control_plane.store.codec import encode
from control_plane.store.records import RecordReader
from control_plane.store.txn import Put
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import NotFoundError


class RefreshPolicyBook:
    def __init__(
        self, keys: KeySchema, records: RecordReader, audit: AuditLog, clock: Clock
    ) -> None:
        self._keys = keys
        self._records = records
        self._audit = audit
        self._clock = clock

    async def set(self, policy: records_pb2.RefreshPolicy, actor: str) -> records_pb2.RefreshPolicy:
        validate_policy(policy)
        stored = records_pb2.RefreshPolicy()
        stored.CopyFrom(policy)
        stored.set_by = actor
        stored.set_at.CopyFrom(timestamp(self._clock))
        draft = AuditDraft(
            actor=actor,
            action="set_refresh_policy",
            subject="refresh_policy",
            details={
                "metric": stored.metric,
                "max_relative_drop": f"{stored.max_relative_drop:g}",
                "probe_users": str(stored.probe_users),
                "holdout_fraction": f"{stored.holdout_fraction:g}",
                "seed": str(stored.seed),
                "max_clock_advance_days": f"{stored.max_clock_advance_days:g}",
            },
        )
        await self._audit.commit(draft, [], [Put(self._keys.refresh_policy, encode(stored))])
        return stored

    async def get(self) -> records_pb2.RefreshPolicy:
        policy = await self._records.refresh_policy()
        if policy is None:
            raise NotFoundError(
                "no refresh policy is recorded; an operator sets one with "
                "`recmesh refresh-policy set`"
            )
        return policy
