"""RefreshServing: a refresh of the champion serves when the refresh policy allows it.

The refresher (`recmesh data refresh`, an offline process) uploads a bundle of the
champion's model with a snapshot of newer data and sends the probe it measured.
The gate then, with no experiment and no review:

1. reads the policy (none recorded: refused) and the pointer, which must still
   name the version refreshed at the revision the refresher read, and no shadow or
   staged rollout beside it (the refresh would end it unrecorded: stop the shadow, or
   roll back or let the rollout finish, first);
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
from control_plane.refusals import audited
from control_plane.rollout_pointer import rollout_in_the_way
from control_plane.store.codec import encode
from control_plane.store.errors import ConflictError
from control_plane.store.records import RecordReader
from control_plane.store.txn import Guard, KeyAbsent, KeyAt, Put
from control_plane.validation import MAX_TEXT, require, require_version_id
from recmesh.api.controlplane.v1 import control_plane_pb2, records_pb2
from recmesh.artifacts.errors import ArtifactError
from recmesh.artifacts.protocol import ArtifactStore
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
        artifacts: ArtifactStore,
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
        found = await self._records.refresh_policy_at()
        if found is None:
            raise await self._refuse(
                base,
                actor,
                "no refresh policy is recorded, so no refresh may serve; an operator sets "
                "one with `recmesh refresh-policy set`",
            )
        policy, policy_revision = found
        pointer = await self._records.pointer()
        if (
            pointer is None
            or pointer.serving_version != base
            or pointer.revision != request.base_pointer_revision
        ):
            raise await self._refuse(base, actor, _champion_moved(request, pointer))
        in_the_way = rollout_in_the_way(pointer)
        if in_the_way is not None:
            # The move below guards on this pointer revision, so this holds when it commits.
            raise await self._refuse(base, actor, in_the_way)
        champion = await self._records.model(base)
        refreshed = await asyncio.to_thread(
            self._models.verified_model, manifest_sha256, request.lineage
        )
        refreshed.refresh_of = base
        refreshed.description = request.description or f"refresh of {base}"
        refreshed.registered_by = actor
        refreshed.registered_at.CopyFrom(timestamp(self._clock))
        registered = await self._records.find_model(refreshed.version_id)
        refusal = model_refusal(champion, refreshed) or _registered_otherwise(registered, refreshed)
        comparison = records_pb2.SnapshotComparison()
        if refusal is None:
            comparison, refusal = await asyncio.to_thread(self._compare, champion, refreshed)
        refusal = (
            refusal or snapshot_refusal(comparison, policy) or probe_refusal(policy, request.probe)
        )
        if refusal is not None:
            raise await self._refuse(refreshed.version_id, actor, refusal)
        return await self._serve(
            request, (policy, policy_revision), pointer, registered or refreshed, comparison,
            registered is None, actor,
        )  # fmt: skip

    async def _serve(
        self,
        request: control_plane_pb2.RefreshServingRequest,
        policy_at: tuple[records_pb2.RefreshPolicy, int],
        previous: records_pb2.ServingPointer,
        refreshed: records_pb2.ModelVersion,
        comparison: records_pb2.SnapshotComparison,
        register: bool,
        actor: str,
    ) -> control_plane_pb2.RefreshServingResponse:
        keys = self._keys
        policy, policy_revision = policy_at
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
        # The policy applied is the one recorded when the transaction commits.
        guards: list[Guard] = [
            KeyAt(keys.pointer, previous.revision),
            KeyAt(keys.refresh_policy, policy_revision),
        ]
        puts: list[Put] = []
        if register:
            guards.append(KeyAbsent(keys.model(version)))
            puts.append(Put(keys.model(version), encode(refreshed)))
        # A refresh record is immutable: serving the same refresh again (after a
        # rollback) keeps the first one and adds only the audit entry.
        if await self._records.refresh(version) is None:
            guards.append(KeyAbsent(keys.refresh(version)))
            puts.append(Put(keys.refresh(version), encode(record)))
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
            if exc.failed_on(keys.refresh_policy):
                raise await self._refuse(
                    version,
                    actor,
                    "the refresh policy changed while the refresh was checked; "
                    "run the refresh again under the new policy",
                ) from exc
            raise ConflictError(
                [], f"{version} was registered or refreshed concurrently; refresh again"
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
    ) -> tuple[records_pb2.SnapshotComparison, str | None]:
        """Compares both snapshots from the artifact store (blocking; run in a thread); the
        second item is why their settings differ, or None."""
        try:
            before = snapshot_from_bytes(self._artifacts.get_bytes(_snapshot_sha(champion)))
            after = snapshot_from_bytes(self._artifacts.get_bytes(_snapshot_sha(refreshed)))
        except (ArtifactError, SnapshotFormatError) as exc:
            raise FailedPreconditionError(f"cannot read a snapshot to compare: {exc}") from exc
        settings = None
        if before.config != after.config:
            settings = (
                f"the refreshed snapshot was built with other settings ({after.config.to_json()}) "
                f"than the serving one ({before.config.to_json()}): the model's features would "
                "change meaning; a refresh changes the data only"
            )
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
            previous_now=before.now,
            refreshed_now=after.now,
        ), settings

    async def _refuse(self, subject: str, actor: str, reason: str) -> FailedPreconditionError:
        """Records the refusal in the audit log; returns the error to raise."""
        return await audited(
            self._audit,
            FailedPreconditionError(reason),
            actor=actor,
            action="refresh_refused",
            subject=subject,
        )


def _registered_otherwise(
    registered: records_pb2.ModelVersion | None, refreshed: records_pb2.ModelVersion
) -> str | None:
    """Why a version already registered under this id is not this refresh, or None."""
    if registered is None:
        return None
    rows = dict(registered.lineage.interaction_log_rows)
    if registered.refresh_of != refreshed.refresh_of or rows != dict(
        refreshed.lineage.interaction_log_rows
    ):
        return (
            f"{registered.version_id} is already registered with another lineage (a refresh "
            f"of {registered.refresh_of or 'nothing'}, log rows {rows}): the same bundle "
            "cannot stand for other data"
        )
    return None


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
