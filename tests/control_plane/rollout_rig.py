"""Drives a staged rollout from a test: the rollout driver and the pause/resume control
built on the harness's etcd with a clock the test moves, and fronts' counts written as a
front writes them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.pointer_writer import PointerWriter
from control_plane.rollout_control import RolloutControl
from control_plane.rollout_driver import RolloutDriver
from control_plane.rollout_pointer import champion_with
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.records import RecordReader
from control_plane.store.rollout_records import RolloutReader
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rollout.arm_counts import CHALLENGER, CHAMPION, ArmTally, FrontCounts
from tests.control_plane.harness import ControlPlaneHarness

T = TypeVar("T")


@dataclass
class MovableClock:
    """Now, as the test says; starts at the real now (the server stamps the stage start)."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Wired:
    driver: RolloutDriver
    control: RolloutControl
    writer: PointerWriter
    records: RecordReader


class RolloutRig:
    def __init__(self, cp: ControlPlaneHarness, clock: MovableClock | None = None) -> None:
        self.cp = cp
        self.clock = clock or MovableClock()

    def run(self, use: Callable[[Wired], Awaitable[T]]) -> T:
        """Runs `use` with a driver and a control wired to the installation as root."""

        async def scenario() -> T:
            cp = self.cp
            kv = EtcdKV([cp.etcd_endpoint], credentials=cp.etcd_passwords.root)
            await kv.connect()
            try:
                records = RecordReader(kv, cp.keys, cp.trusted())
                rollouts = RolloutReader(kv, cp.keys)
                audit = AuditLog(kv, cp.keys, self.clock)
                writer = PointerWriter(cp.keys, audit, cp.signer())
                driver = RolloutDriver(cp.keys, kv, records, rollouts, audit, writer, self.clock)
                control = RolloutControl(cp.keys, rollouts, audit, self.clock)
                return await use(Wired(driver, control, writer, records))
            finally:
                await kv.close()

        return asyncio.run(scenario())

    def look(self, experiment_id: str) -> str | None:
        """One look now; the decision written ("hold", "advance", ...) or None."""

        async def use(wired: Wired) -> str | None:
            decision = await wired.driver.look(experiment_id)
            return None if decision is None else decision.value

        return self.run(use)

    def write_champion_alone(self) -> None:
        """A signed record of the champion alone over whatever the pointer names, written
        with no refusal and no rollout bookkeeping (as a control plane before Promote and
        refresh refused during a rollout did)."""

        async def use(wired: Wired) -> None:
            current = await wired.records.pointer()
            assert current is not None
            await wired.writer.move(
                AuditDraft(actor="olga", action="promote", subject="elsewhere"),
                champion_with(current, None, actor="olga", clock=self.clock, reason="over it"),
                replaces=current,
                replaces_revision=current.revision,
                guards=[],
                evaluation_sha256=current.evaluation_sha256,
            )

        self.run(use)

    def front_counts(
        self,
        rollout_id: str,
        stage: int,
        champion: ArmTally,
        challenger: ArmTally,
        front: str = "f-1",
    ) -> None:
        """Writes a front's cumulative counts of the stage, as the front would."""
        counts = FrontCounts(
            front=front,
            rollout_id=rollout_id,
            stage=stage,
            at=self.clock().timestamp(),
            arms={CHAMPION: champion, CHALLENGER: challenger},
        )
        self.cp.etcd_put(self.cp.keys.rollout_arm_counts(rollout_id, stage, front), counts.encode())

    def rollout(self, experiment_id: str) -> pb.GetRolloutResponse:
        response: pb.GetRolloutResponse = self.cp.stub.GetRollout(
            pb.GetRolloutRequest(experiment_id=experiment_id), metadata=self.cp.auth("alice")
        )
        return response


def plan(
    *,
    stages: tuple[float, ...] = (0.05, 0.25, 1.0),
    hold_seconds: float = 30.0,
    min_requests: int = 50,
    guardrails: tuple[records_pb2.LiveGuardrail, ...] = (),
    shadow_bounds: tuple[records_pb2.ShadowDiffBound, ...] = (),
) -> records_pb2.RolloutPlan:
    """A plan the server's own driver never looks at (an hour between looks): the test's
    driver, with its movable clock, does."""
    return records_pb2.RolloutPlan(
        stages=stages,
        hold_seconds=hold_seconds,
        min_requests_per_arm=min_requests,
        guardrails=guardrails,
        look_interval_seconds=3600.0,
        shadow_bounds=shadow_bounds,
    )


def latency_guardrail(
    margin: float = 0.02, threshold_ms: float = 40.0
) -> records_pb2.LiveGuardrail:
    return records_pb2.LiveGuardrail(
        name="latency_p99", margin=margin, alpha=0.05, threshold_ms=threshold_ms
    )


def error_guardrail(margin: float = 0.01) -> records_pb2.LiveGuardrail:
    return records_pb2.LiveGuardrail(name="error_rate", margin=margin, alpha=0.05)


def promote_staged(
    cp: ControlPlaneHarness, experiment_id: str, rollout_plan: records_pb2.RolloutPlan
) -> pb.PromoteResponse:
    response: pb.PromoteResponse = cp.stub.Promote(
        pb.PromoteRequest(experiment_id=experiment_id, plan=rollout_plan),
        metadata=cp.auth("olga"),
    )
    return response
