"""RefreshServing: a refresh of the champion serves when the refresh policy allows it.

The refresher (`recmesh data refresh`, an offline process) uploads a bundle of the
champion's model with a snapshot of newer data and sends the probe it measured.
The gate then, with no experiment and no review:

1. reads the policy (none recorded: refused) and the pointer, which must still
   name the version refreshed at the revision the refresher read;
2. verifies the bundle in the artifact store like a registration does;
3. checks the policy's rules (`refresh_rules`): the champion's model unchanged,
   a snapshot that only adds (compared here, from both snapshots in the store,
   not taken on the refresher's word), and the probe within the margin;
4. in one etcd transaction: registers the version (unless it already is), moves
   the pointer (guarded on its revision), keeps the replaced pointer in the
   history, writes the Refresh record and the audit entry `refresh`.

Every refusal is audited (`refresh_refused`) and answered FAILED_PRECONDITION
with its reason. A refresh is rolled back like a promotion (`recmesh rollback`).
"""

from __future__ import annotations

import asyncio

import structlog

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock, timestamp
from control_plane.model_registry import ModelRegistry
from control_plane.pointer_writer import PointerWriter
from control_plane.refresh_rules import model_refusal, probe_refusal, snapshot_refusal
from control_plane.store.codec import encode
from control_plane.store.errors import ConflictError
from control_plane.store.records import RecordReader
from control_plane.store.txn import Guard, KeyAbsent, KeyAt, Put
from control_plane.validation import MAX_TEXT, require, require_version_id
from recmesh.artifacts.errors import ArtifactError
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.controlplane.v1 import control_plane_pb2, records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from recmesh.snapshot.codec import snapshot_from_bytes
from recmesh.snapshot.comparison import compare_snapshots
from recmesh.snapshot.errors import SnapshotFormatError

log = structlog.get_logger("recmesh.control_plane.refresh")


class RefreshGate:
    def __init__(
        self,
        keys: KeySchema,
        records: RecordReader,
        models: ModelRegistry,
        artifacts: LocalArtifactStore,
        audit: AuditLog,
        clock: Clock,
        writer: PointerWriter,
    ) -> None:
        self._keys = keys
        self._records = records
        self._models = models
        self._artifacts = artifacts
        self._audit = audit
        self._clock = clock
        self._writer = writer

    async def refresh(
        self, request: control_plane_pb2.RefreshServingRequest, actor: str
    ) -> control_plane_pb2.RefreshServingResponse:
        manifest_sha256 = require(request.manifest_sha256, "manifest_sha256")
        base = require_version_id(request.base_version, "base_version")
        if len(request.description) > MAX_TEXT:
            raise InvalidArgumentError(f"description is longer than {MAX_TEXT} characters")
        if not request.HasField("probe"):
            raise InvalidArgumentError("probe is missing: a refresh carries its probe metric")
        policy = await self._records.refresh_policy()
        if policy is None:
            raise await self._refuse(
                base,
                actor,
                "no refresh policy is recorded, so no refresh may serve; an operator sets "
                "one with `recmesh refresh-policy set`",
            )
        pointer = await self._records.pointer()
        if (
            pointer is None
            or pointer.serving_version != base
            or pointer.revision != request.base_pointer_revision
        ):
            raise await self._refuse(base, actor, _champion_moved(request, pointer))
        champion = await self._records.model(base)
        refreshed = await asyncio.to_thread(
            self._models.verified_model, manifest_sha256, request.lineage
        )
        refreshed.refresh_of = base
        refreshed.description = request.description or f"refresh of {base}"
        refreshed.registered_by = actor
        refreshed.registered_at.CopyFrom(timestamp(self._clock))
        refusal = model_refusal(champion, refreshed)
        comparison = records_pb2.SnapshotComparison()
        if refusal is None:
            comparison = await asyncio.to_thread(self._compare, champion, refreshed)
            refusal = snapshot_refusal(comparison) or probe_refusal(policy, request.probe)
        if refusal is not None:
            raise await self._refuse(refreshed.version_id, actor, refusal)
        return await self._serve(request, policy, pointer, refreshed, comparison, actor)

    async def _serve(
        self,
        request: control_plane_pb2.RefreshServingRequest,
        policy: records_pb2.RefreshPolicy,
        previous: records_pb2.ServingPointer,
        refreshed: records_pb2.ModelVersion,
        comparison: records_pb2.SnapshotComparison,
        actor: str,
    ) -> control_plane_pb2.RefreshServingResponse:
        keys = self._keys
        version = refreshed.version_id
        new_pointer = records_pb2.ServingPointer(
            serving_version=version,
            manifest_sha256=refreshed.manifest_sha256,
            set_by=actor,
            set_at=timestamp(self._clock),
            reason=f"refresh of {previous.serving_version}",
        )
        record = records_pb2.Refresh(
            version_id=version,
            refresh_of=previous.serving_version,
            probe=request.probe,
            comparison=comparison,
            policy=policy,
            refreshed_by=actor,
            refreshed_at=timestamp(self._clock),
        )
        guards: list[Guard] = [KeyAt(keys.pointer, previous.revision)]
        puts = [Put(keys.refresh(version), encode(record))]
        registered = await self._records.find_model(version)
        if registered is None:
            guards.append(KeyAbsent(keys.model(version)))
            puts.append(Put(keys.model(version), encode(refreshed)))
        else:
            refreshed = registered
        draft = AuditDraft(
            actor=actor,
            action="refresh",
            subject=version,
            details={
                "from": previous.serving_version,
                "to": version,
                "interactions": (
                    f"{comparison.previous_interactions} -> {comparison.refreshed_interactions}"
                ),
                "probe": (
                    f"{request.probe.metric} {request.probe.reference_value:.4f} -> "
                    f"{request.probe.refreshed_value:.4f} ({request.probe.users} users)"
                ),
            },
        )
        try:
            new_pointer = await self._writer.move(
                draft,
                new_pointer,
                replaces=previous,
                replaces_revision=previous.revision,
                guards=guards,
                puts=puts,
            )
        except ConflictError as exc:
            if exc.failed_on(keys.pointer):
                current = (await self._records.pointer_value()).pointer
                raise await self._refuse(version, actor, _champion_moved(request, current)) from exc
            raise ConflictError(
                [], f"{version} was registered concurrently; refresh again"
            ) from exc
        log.info(
            "refreshed",
            old_version=previous.serving_version,
            new_version=version,
            revision=new_pointer.revision,
            actor=actor,
        )
        return control_plane_pb2.RefreshServingResponse(
            pointer=new_pointer,
            previous_version=previous.serving_version,
            model_version=refreshed,
            refresh=record,
        )

    def _compare(
        self, champion: records_pb2.ModelVersion, refreshed: records_pb2.ModelVersion
    ) -> records_pb2.SnapshotComparison:
        """Compares both snapshots from the artifact store (blocking; run in a thread)."""
        try:
            before = snapshot_from_bytes(self._artifacts.get_bytes(_snapshot_sha(champion)))
            after = snapshot_from_bytes(self._artifacts.get_bytes(_snapshot_sha(refreshed)))
        except (ArtifactError, SnapshotFormatError) as exc:
            raise FailedPreconditionError(f"cannot read a snapshot to compare: {exc}") from exc
        c = compare_snapshots(before, after)
        return records_pb2.SnapshotComparison(
            previous_interactions=c.previous_interactions,
            refreshed_interactions=c.refreshed_interactions,
            previous_users=c.previous_users,
            refreshed_users=c.refreshed_users,
            previous_items=c.previous_items,
            refreshed_items=c.refreshed_items,
            lost_interactions=c.lost_interactions,
            vanished_users=c.vanished_users,
            vanished_items=c.vanished_items,
        )

    async def _refuse(self, subject: str, actor: str, reason: str) -> FailedPreconditionError:
        """Records the refusal in the audit log; returns the error to raise."""
        await self._audit.commit(
            AuditDraft(
                actor=actor, action="refresh_refused", subject=subject, details={"reason": reason}
            )
        )
        log.info("refresh_refused", subject=subject, reason=reason, actor=actor)
        return FailedPreconditionError(reason)


def _snapshot_sha(model: records_pb2.ModelVersion) -> str:
    for artifact in model.artifacts:
        if artifact.name == "snapshot":
            return artifact.sha256
    raise NotFoundError(f"model version {model.version_id} names no snapshot")


def _champion_moved(
    request: control_plane_pb2.RefreshServingRequest, pointer: records_pb2.ServingPointer | None
) -> str:
    now = (
        "unset" if pointer is None else f"{pointer.serving_version} at revision {pointer.revision}"
    )
    return (
        f"the refresh was built from {request.base_version} at pointer revision "
        f"{request.base_pointer_revision}, but the pointer is now {now}; run the refresh again"
    )
