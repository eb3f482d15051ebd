"""Typed reads of staged rollouts, their looks, attached shadow reports and fronts' counts."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from control_plane.store.codec import decode
from control_plane.store.errors import CorruptRecordError
from control_plane.store.etcd_kv import EtcdKV
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rollout.arm_counts import ArmCountsError, FrontCounts

log = structlog.get_logger("recmesh.control_plane.rollout_records")

#: A rollout still in progress: the driver looks at it, Rollback ends it.
ACTIVE = frozenset({records_pb2.ROLLOUT_STATUS_RUNNING, records_pb2.ROLLOUT_STATUS_PAUSED})


@dataclass(frozen=True)
class StoredRollout:
    """A rollout record and its key's mod_revision (the guard of any change to it)."""

    record: records_pb2.RolloutRecord
    mod_revision: int

    @property
    def active(self) -> bool:
        return self.record.status in ACTIVE


@dataclass(frozen=True)
class StoredShadowReport:
    summary: records_pb2.ShadowReportSummary
    mod_revision: int


class RolloutReader:
    def __init__(self, kv: EtcdKV, keys: KeySchema) -> None:
        self._kv = kv
        self._keys = keys

    async def rollout(self, experiment_id: str) -> StoredRollout | None:
        """The experiment's staged rollout, None when it never had one."""
        stored = await self._kv.find(self._keys.rollout(experiment_id))
        if stored is None:
            return None
        return StoredRollout(decode(stored, records_pb2.RolloutRecord), stored.mod_revision)

    async def active(self) -> list[StoredRollout]:
        """Every running or paused rollout, in experiment id order. A record that does not
        parse (written behind the control plane) is logged and left out, so it cannot keep
        the other rollouts from their looks; GetRollout of it reports the damage."""
        found = []
        for value in await self._kv.list(self._keys.rollouts_prefix):
            try:
                record = decode(value, records_pb2.RolloutRecord)
            except CorruptRecordError as exc:
                log.warning("rollout_record_damaged", key=value.key, problem=str(exc))
                continue
            if record.status in ACTIVE:
                found.append(StoredRollout(record, value.mod_revision))
        return found

    async def looks(self, experiment_id: str) -> list[records_pb2.RolloutLook]:
        """Every look at the experiment's rollout, oldest first."""
        stored = await self._kv.list(self._keys.rollout_looks_prefix(experiment_id))
        return [decode(value, records_pb2.RolloutLook) for value in stored]

    async def last_look(self, experiment_id: str, looks: int) -> records_pb2.RolloutLook | None:
        """Look number looks - 1, None before the first."""
        if looks == 0:
            return None
        stored = await self._kv.find(self._keys.rollout_look(experiment_id, looks - 1))
        return None if stored is None else decode(stored, records_pb2.RolloutLook)

    async def shadow_report(self, experiment_id: str) -> StoredShadowReport | None:
        stored = await self._kv.find(self._keys.shadow_report(experiment_id))
        if stored is None:
            return None
        return StoredShadowReport(
            decode(stored, records_pb2.ShadowReportSummary), stored.mod_revision
        )

    async def front_counts(self, rollout_id: str, stage: int) -> list[FrontCounts]:
        """Every front's counts of the stage. A value that is not a front's counts of this
        stage is left out and logged: one bad writer must not stop the others' counts
        from being read, and the sample-ratio check catches counts that go missing."""
        stored = await self._kv.list(self._keys.rollout_arms_prefix(rollout_id, stage))
        counts = []
        for value in stored:
            try:
                front = FrontCounts.decode(value.value)
            except ArmCountsError as exc:
                log.warning("front_counts_unreadable", key=value.key, problem=str(exc))
                continue
            if front.rollout_id != rollout_id or front.stage != stage:
                log.warning(
                    "front_counts_misplaced",
                    key=value.key,
                    rollout_id=front.rollout_id,
                    stage=front.stage,
                )
                continue
            counts.append(front)
        return counts
