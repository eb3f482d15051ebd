"""Pointer records that keep the champion and add, change or drop the challenger beside it.

Shadow and staged rollouts move the pointer without replacing the champion: the new
record names the same version and manifest, the same experiment and evaluation that
made it the champion, and only its `rollout` differs. `champion_lineage` relies on
that to see that the champion did not change.
"""

from __future__ import annotations

import uuid

from control_plane.clock import Clock, timestamp
from recmesh.api.controlplane.v1 import records_pb2


def new_rollout_id() -> str:
    """A fresh id: fronts key their per-arm counts by it, so no two rollouts share one."""
    return f"r-{uuid.uuid4().hex[:16]}"


def challenger_rollout(
    experiment_id: str,
    challenger: records_pb2.ModelVersion,
    mode: records_pb2.RolloutMode.ValueType,
    share: float,
    *,
    rollout_id: str,
    stage: int = 0,
    latency_threshold_ms: float = 0.0,
) -> records_pb2.Rollout:
    return records_pb2.Rollout(
        rollout_id=rollout_id,
        experiment_id=experiment_id,
        challenger_version=challenger.version_id,
        challenger_manifest_sha256=challenger.manifest_sha256,
        mode=mode,
        share=share,
        stage=stage,
        latency_threshold_ms=latency_threshold_ms,
    )


def champion_with(
    champion: records_pb2.ServingPointer,
    rollout: records_pb2.Rollout | None,
    *,
    actor: str,
    clock: Clock,
    reason: str,
) -> records_pb2.ServingPointer:
    """A new record serving `champion`'s version, with `rollout` beside it (None: alone)."""
    pointer = records_pb2.ServingPointer(
        serving_version=champion.serving_version,
        manifest_sha256=champion.manifest_sha256,
        experiment_id=champion.experiment_id,
        set_by=actor,
        set_at=timestamp(clock),
        reason=reason,
    )
    if rollout is not None:
        pointer.rollout.CopyFrom(rollout)
    return pointer


def rollout_of(
    pointer: records_pb2.ServingPointer | None,
) -> records_pb2.Rollout | None:
    """The challenger the record names beside the champion, None when it names none."""
    if pointer is None or not pointer.HasField("rollout"):
        return None
    return pointer.rollout


def mode_name(mode: records_pb2.RolloutMode.ValueType) -> str:
    """ "shadow" or "staged", as messages and audit details say it."""
    return records_pb2.RolloutMode.Name(mode).removeprefix("ROLLOUT_MODE_").lower()


def rollout_in_the_way(
    pointer: records_pb2.ServingPointer, experiment_id: str | None = None
) -> str | None:
    """Why a write that replaces the champion (an unstaged Promote, a data refresh, a staged
    Promote) must wait for the challenger the pointer names, or None when nothing is in
    the way.

    Such a write names no rollout, so it would end a shadow without `shadow_stop` and a
    staged rollout without closing its record. A staged rollout of any experiment is in
    the way; a shadow is, unless it is `experiment_id`'s own (its promotion ends it,
    named in the audit entry). The caller's transaction guards on the pointer revision it
    read, so the answer holds when it commits.
    """
    running = rollout_of(pointer)
    if running is None:
        return None
    if running.mode == records_pb2.ROLLOUT_MODE_SHADOW:
        if running.experiment_id == experiment_id:
            return None
        return (
            f"experiment {running.experiment_id}'s challenger {running.challenger_version} is "
            f"in shadow (rollout {running.rollout_id}); stop the shadow first: recmesh shadow "
            f"stop {running.experiment_id}"
        )
    return (
        f"experiment {running.experiment_id}'s staged rollout {running.rollout_id} is in "
        f"progress (stage {running.stage}, {running.share:g} of users on "
        f"{running.challenger_version}); roll back or let the rollout finish: `recmesh "
        f"rollout status {running.experiment_id}` shows it, `recmesh rollback` ends it"
    )
