"""Promote: the guarded pointer move, its refusals, and concurrent promotions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from control_plane.audit_log import AuditLog
from control_plane.clock import utc_now
from control_plane.decision_rules import rule_message
from control_plane.experiment_state import ExperimentRecords
from control_plane.pointer_writer import PointerWriter
from control_plane.promotion import Promoter
from control_plane.promotion_rule import promotion_refusal
from control_plane.store.codec import encode
from control_plane.store.errors import ConflictError, StoreUnavailableError
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.records import RecordReader
from control_plane.store.txn import Guard, Put
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.users import ROOT_USER
from recmesh.rpc.errors import FailedPreconditionError
from recmesh.signing.keys import PublicKeyRing
from testkit.records import evaluation_for, restate, spec_for
from tests.control_plane.harness import (
    ControlPlaneHarness,
    code_of,
    details_of,
    rpc_error,
    running_control_plane,
)


def _assert_refused(
    control_plane: ControlPlaneHarness, experiment_id: str, reason_start: str
) -> None:
    before = control_plane.pointer()
    error = rpc_error(control_plane.promote, experiment_id)
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert details_of(error).startswith(reason_start), details_of(error)
    assert control_plane.pointer() == before
    last = control_plane.audit_entries()[-1]
    assert last.action == "promote_refused"
    assert last.subject == experiment_id
    assert last.details["reason"] == details_of(error)


def test_promote_without_evaluation_is_refused(control_plane: ControlPlaneHarness) -> None:
    """No evaluation: FAILED_PRECONDITION naming it, pointer untouched, refusal audited."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    _assert_refused(control_plane, experiment.experiment_id, "no evaluation recorded")


def test_promote_with_verdict_fail_is_refused(control_plane: ControlPlaneHarness) -> None:
    """Verdict FAIL: FAILED_PRECONDITION with the evaluation's reasons, pointer untouched."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    control_plane.record(experiment, records_pb2.VERDICT_FAIL)
    _assert_refused(
        control_plane,
        experiment.experiment_id,
        "evaluation verdict is FAIL: no success metric improved: ndcg@10 delta +0.0300",
    )


def _drop_evidence(evaluation: records_pb2.Evaluation) -> None:
    del evaluation.evidence[:]


def _contradict(evaluation: records_pb2.Evaluation) -> None:
    restate(evaluation, "ndcg@10", challenger=0.25, ci_low=-0.08, ci_high=-0.02)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_drop_evidence, "carries no evidence (recorded before verdicts were derived"),
        (_contradict, "does not derive PASS from its evidence: declared verdict PASS differs"),
    ],
)
def test_promote_derives_the_stored_verdict_again(
    control_plane: ControlPlaneHarness,
    change: Callable[[records_pb2.Evaluation], None],
    reason: str,
) -> None:
    """An approved PASS whose stored record lost its evidence (as one recorded before verdicts
    were derived) or whose evidence was rewritten behind the control plane to derive FAIL:
    Promote is FAILED_PRECONDITION saying so, audited, the pointer untouched."""
    experiment = control_plane.approved_experiment(control_plane.challenger_a)
    experiment_id = experiment.experiment_id
    control_plane.etcd_rewrite(
        control_plane.keys.evaluation(experiment_id), records_pb2.Evaluation(), change
    )
    _assert_refused(
        control_plane, experiment_id, f"the evaluation of experiment {experiment_id} {reason}"
    )


def test_a_damaged_rule_is_data_loss_naming_the_experiment(
    control_plane: ControlPlaneHarness,
) -> None:
    """An experiment whose stored rule lost a success metric's direction: RecordEvaluation
    and Promote are DATA_LOSS naming the experiment and the metric (not UNKNOWN)."""
    experiment = control_plane.approved_experiment(control_plane.challenger_a)
    experiment_id = experiment.experiment_id

    def damage(record: records_pb2.Experiment) -> None:
        record.rule.success_metrics[0].direction = records_pb2.METRIC_DIRECTION_UNSPECIFIED

    control_plane.etcd_rewrite(
        control_plane.keys.experiment(experiment_id), records_pb2.Experiment(), damage
    )
    message = (
        f"experiment {experiment_id}: its recorded decision rule cannot be applied: metric "
        "'ndcg@10' has no direction"
    )
    error = rpc_error(control_plane.promote, experiment_id)
    assert code_of(error) == grpc.StatusCode.DATA_LOSS
    assert message in details_of(error)
    other = control_plane.create_experiment(control_plane.register(control_plane.challenger_b))
    control_plane.etcd_rewrite(
        control_plane.keys.experiment(other.experiment_id), records_pb2.Experiment(), damage
    )
    error = rpc_error(control_plane.record, other)
    assert code_of(error) == grpc.StatusCode.DATA_LOSS
    assert "its recorded decision rule cannot be applied" in details_of(error)


def test_promote_of_no_or_an_unknown_experiment_is_audited(
    control_plane: ControlPlaneHarness,
) -> None:
    """Promote with no experiment id (INVALID_ARGUMENT) or an unknown one (NOT_FOUND) leaves a
    `promote_refused` entry with the code and the reason; the pointer stays."""
    before = control_plane.pointer()
    for experiment_id, subject, code in (
        ("", "experiment", grpc.StatusCode.INVALID_ARGUMENT),
        ("exp-nope", "exp-nope", grpc.StatusCode.NOT_FOUND),
    ):
        error = rpc_error(control_plane.promote, experiment_id)
        assert code_of(error) == code
        refusal = control_plane.audit_entries()[-1]
        assert (refusal.action, refusal.actor, refusal.subject) == (
            "promote_refused",
            "olga",
            subject,
        )
        assert (refusal.details["code"], refusal.details["reason"]) == (
            code.name,
            details_of(error),
        )
    assert control_plane.pointer() == before


def test_promote_without_approval_is_refused(control_plane: ControlPlaneHarness) -> None:
    """PASS but nobody approved: 'not enough approvals: 0 of 1', pointer untouched."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    control_plane.record(experiment)
    _assert_refused(control_plane, experiment.experiment_id, "not enough approvals: 0 of 1")


def test_promote_counts_distinct_approvers(control_plane: ControlPlaneHarness) -> None:
    """With two approvals required, bob approving twice is still 1 of 2; dana makes it 2."""
    experiment = control_plane.create_experiment(
        control_plane.register(control_plane.challenger_a), approvals_required=2
    )
    control_plane.record(experiment)
    control_plane.approve(experiment.experiment_id, "bob")
    control_plane.approve(experiment.experiment_id, "bob")
    _assert_refused(control_plane, experiment.experiment_id, "not enough approvals: 1 of 2")
    control_plane.approve(experiment.experiment_id, "dana")
    assert control_plane.promote(experiment.experiment_id).pointer.serving_version == (
        experiment.spec.challenger_version
    )


def test_promote_after_champion_changed_is_refused(control_plane: ControlPlaneHarness) -> None:
    """Two approved experiments against one champion: after the first is promoted, the
    second is refused with 'champion changed since the evaluation' and a re-evaluate hint."""
    first = control_plane.approved_experiment(control_plane.challenger_a)
    second = control_plane.approved_experiment(control_plane.challenger_b)
    control_plane.promote(first.experiment_id)
    _assert_refused(control_plane, second.experiment_id, "champion changed since the evaluation")
    error = rpc_error(control_plane.promote, second.experiment_id)
    assert "re-evaluate" in details_of(error)
    assert first.spec.challenger_version in details_of(error)


def test_rejected_experiment_is_refused(control_plane: ControlPlaneHarness) -> None:
    """A reviewer's rejection stops promotion even after another reviewer approved."""
    experiment = control_plane.approved_experiment(control_plane.challenger_a)
    control_plane.review(
        experiment.experiment_id, "dana", records_pb2.REVIEW_VERDICT_REJECT, "coverage drops"
    )
    _assert_refused(
        control_plane,
        experiment.experiment_id,
        f"experiment {experiment.experiment_id} was rejected by dana: coverage drops",
    )


def test_promotion_moves_pointer_and_records_everything(
    control_plane: ControlPlaneHarness,
) -> None:
    """A correct flow moves the pointer to the challenger, keeps the replaced pointer in the
    history, marks the experiment PROMOTED and appends a 'promote' entry; the chain verifies."""
    before = control_plane.pointer()
    experiment = control_plane.approved_experiment(control_plane.challenger_a)
    response = control_plane.promote(experiment.experiment_id)
    after = control_plane.pointer()
    assert after.serving_version == experiment.spec.challenger_version
    assert after.manifest_sha256 == control_plane.challenger_a.manifest_sha256
    assert after.experiment_id == experiment.experiment_id
    assert after.set_by == "olga"
    assert after.revision == response.pointer.revision > before.revision
    assert response.previous_version == before.serving_version
    history = control_plane.etcd_get(control_plane.keys.pointer_history(before.revision))
    assert history is not None
    assert before.serving_version.encode() in history[0]
    shown = control_plane.stub.GetExperiment(
        pb.GetExperimentRequest(experiment_id=experiment.experiment_id),
        metadata=control_plane.auth("bob"),
    )
    assert shown.experiment.state == records_pb2.EXPERIMENT_STATE_PROMOTED
    last = control_plane.audit_entries()[-1]
    assert (last.action, last.actor, last.subject) == ("promote", "olga", experiment.experiment_id)
    assert last.details["from"] == before.serving_version
    assert last.details["to"] == after.serving_version
    assert control_plane.verify_audit().ok


def test_twenty_concurrent_promotions_move_the_pointer_once(
    control_plane: ControlPlaneHarness,
) -> None:
    """10 concurrent Promote calls for each of two approved experiments against the same
    champion: exactly one succeeds, the 19 others are FAILED_PRECONDITION ('champion
    changed', or for the winner's own experiment once its promotion is recorded 'already
    promoted'), the pointer changed once and the audit chain holds."""
    first = control_plane.approved_experiment(control_plane.challenger_a)
    second = control_plane.approved_experiment(control_plane.challenger_b)
    before = control_plane.pointer()
    entries_before = len(control_plane.audit_entries())
    ids = [first.experiment_id, second.experiment_id] * 10

    def attempt(experiment_id: str) -> tuple[grpc.StatusCode, str]:
        try:
            control_plane.promote(experiment_id)
        except grpc.RpcError as exc:
            return code_of(exc), details_of(exc)
        return grpc.StatusCode.OK, ""

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, ids))
    codes = [code for code, _ in outcomes]
    assert codes.count(grpc.StatusCode.OK) == 1
    assert codes.count(grpc.StatusCode.FAILED_PRECONDITION) == 19
    refusals = [details for code, details in outcomes if code != grpc.StatusCode.OK]
    winner = next(e for e, (c, _) in zip(ids, outcomes, strict=True) if c == grpc.StatusCode.OK)
    assert all(
        r.startswith(("champion changed since the evaluation", f"experiment {winner} was already"))
        for r in refusals
    ), refusals
    after = control_plane.pointer()
    assert after.serving_version in (
        first.spec.challenger_version,
        second.spec.challenger_version,
    )
    entries = control_plane.audit_entries()[entries_before:]
    assert [e.action for e in entries].count("promote") == 1
    assert [e.action for e in entries].count("promote_refused") == 19
    pointer_writes = [e for e in entries if e.action == "promote"]
    assert pointer_writes[0].details["evaluated_pointer_revision"] == str(before.revision)
    report = control_plane.verify_audit()
    assert report.ok, report.problem


def _experiment() -> records_pb2.Experiment:
    spec = spec_for("sv-00112233445566aa")
    return records_pb2.Experiment(
        experiment_id="exp-1",
        spec=spec,
        champion_version="sv-a",
        champion_pointer_revision=7,
        rule=rule_message(spec),
    )


def _without_evidence() -> records_pb2.Evaluation:
    evaluation = evaluation_for(_experiment())
    del evaluation.evidence[:]
    return evaluation


def _contradicted() -> records_pb2.Evaluation:
    evaluation = evaluation_for(_experiment())
    restate(evaluation, "ndcg@10", challenger=0.25, ci_low=-0.08, ci_high=-0.02)
    return evaluation


def _records(**fields: object) -> ExperimentRecords:
    experiment = _experiment()
    evaluation = evaluation_for(experiment)
    values: dict[str, object] = {
        "experiment": experiment,
        "evaluation": evaluation,
        "evaluation_mod_revision": 9,
        "reviews": (records_pb2.Review(author="bob", verdict=records_pb2.REVIEW_VERDICT_APPROVE),),
        "promotion_exists": False,
        "pointer": records_pb2.ServingPointer(serving_version="sv-a", revision=7),
        "revision": 10,
    }
    values.update(fields)
    return ExperimentRecords(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, None),
        ({"evaluation": None}, "no evaluation recorded"),
        ({"evaluation": _without_evidence()}, "the evaluation of experiment exp-1 carries no"),
        (
            {"evaluation": _contradicted()},
            "the evaluation of experiment exp-1 does not derive PASS from its evidence: "
            "declared verdict PASS differs from the evidence at ndcg@10",
        ),
        ({"reviews": ()}, "not enough approvals: 0 of 1"),
        (
            {"pointer": records_pb2.ServingPointer(serving_version="sv-b", revision=8)},
            "champion changed since the evaluation",
        ),
        ({"pointer": None}, "champion changed since the evaluation"),
        ({"promotion_exists": True}, "experiment exp-1 was already promoted"),
        (
            {
                "promotion_exists": True,
                "pointer": records_pb2.ServingPointer(serving_version="sv-b", revision=8),
            },
            "experiment exp-1 was already promoted",
        ),
    ],
)
def test_promotion_refusal_rules(fields: dict[str, object], reason: str | None) -> None:
    """The pure rule: each missing precondition yields its reason (a stored PASS its
    evidence does not derive, or without evidence, among them), all met yields None."""
    refusal = promotion_refusal(_records(**fields))
    if reason is None:
        assert refusal is None
    else:
        assert refusal is not None
        assert refusal.startswith(reason)


class _InterferingReader(RecordReader):
    """Runs `interfere` right after the promotion's checks read the experiment: the first
    `times` reads."""

    def __init__(
        self,
        kv: EtcdKV,
        keys: KeySchema,
        trusted: PublicKeyRing,
        interfere: Callable[[], Awaitable[None]],
        times: int = 1,
    ) -> None:
        super().__init__(kv, keys, trusted)
        self._interfere = interfere
        self._times = times
        self.reads = 0

    async def experiment(self, experiment_id: str) -> ExperimentRecords:
        records = await super().experiment(experiment_id)
        self.reads += 1
        if self.reads <= self._times:
            await self._interfere()
        return records


def test_reviews_that_keep_arriving_are_an_audited_refusal(
    control_plane: ControlPlaneHarness,
) -> None:
    """A review lands after every one of Promote's reads: after 5 reads it gives up with
    ABORTED (`reviews of X kept arriving`) and a `promote_refused` entry with that code."""
    experiment = control_plane.approved_experiment(control_plane.challenger_a)
    experiment_id = experiment.experiment_id
    keys = control_plane.keys

    async def scenario() -> tuple[ConflictError, int]:
        kv = EtcdKV([control_plane.etcd_endpoint], credentials=control_plane.etcd_passwords.root)
        await kv.connect()

        async def comment() -> None:
            review = records_pb2.Review(
                review_id=f"rv-{reader.reads:010d}",
                experiment_id=experiment_id,
                author="dana",
                verdict=records_pb2.REVIEW_VERDICT_COMMENT,
                comment="one more thing",
            )
            key = keys.review(experiment_id, review.review_id)
            await kv.commit([], [Put(key, encode(review))])

        reader = _InterferingReader(kv, keys, control_plane.trusted(), comment, times=100)
        audit = AuditLog(kv, keys, utc_now)
        writer = PointerWriter(keys, audit, control_plane.signer())
        promoter = Promoter(keys, reader, audit, utc_now, writer)
        with pytest.raises(ConflictError) as caught:
            await promoter.promote(experiment_id, "olga")
        await kv.close()
        return caught.value, reader.reads

    error, reads = asyncio.run(scenario())
    assert str(error) == f"reviews of {experiment_id} kept arriving; promote again"
    assert reads == 5
    refusal = control_plane.audit_entries()[-1]
    assert (refusal.action, refusal.subject, refusal.details["code"]) == (
        "promote_refused",
        experiment_id,
        "ABORTED",
    )
    assert control_plane.pointer().serving_version == control_plane.baseline.version_id


def test_pointer_moving_during_promotion_refuses_without_retry(
    control_plane: ControlPlaneHarness,
) -> None:
    """If the pointer moves between the checks and the transaction, the transaction fails on
    the pointer guard and the promotion is refused (champion changed) without a re-read."""
    experiment = control_plane.approved_experiment(control_plane.challenger_a)
    keys = control_plane.keys

    async def scenario() -> tuple[str, int]:
        kv = EtcdKV([control_plane.etcd_endpoint], credentials=control_plane.etcd_passwords.root)
        await kv.connect()

        async def move_pointer() -> None:
            current = await kv.get(keys.pointer)
            await kv.commit([], [Put(keys.pointer, current.value)])

        reader = _InterferingReader(kv, keys, control_plane.trusted(), move_pointer)
        audit = AuditLog(kv, keys, utc_now)
        writer = PointerWriter(keys, audit, control_plane.signer())
        promoter = Promoter(keys, reader, audit, utc_now, writer)
        with pytest.raises(FailedPreconditionError) as caught:
            await promoter.promote(experiment.experiment_id, "olga")
        await kv.close()
        return str(caught.value), reader.reads

    reason, reads = asyncio.run(scenario())
    assert reason.startswith("champion changed since the evaluation")
    assert reads == 1
    assert control_plane.pointer().serving_version == control_plane.baseline.version_id
    assert control_plane.audit_entries()[-1].action == "promote_refused"


class _DyingKV(EtcdKV):
    """Runs `before_commit` once, just before the first commit is sent."""

    def __init__(
        self, endpoint: str, before_commit: Callable[[], None], credentials: EtcdCredentials
    ) -> None:
        super().__init__([endpoint], timeout_s=2.0, credentials=credentials)
        self._before_commit: Callable[[], None] | None = before_commit

    async def commit(self, guards: Sequence[Guard], puts: Sequence[Put]) -> int:
        if self._before_commit is not None:
            await asyncio.to_thread(self._before_commit)
            self._before_commit = None
        return await super().commit(guards, puts)


def test_etcd_dying_during_promotion_writes_nothing(etcd_server: LocalEtcd, tmp_path: Path) -> None:
    """etcd killed just before the promotion's transaction: StoreUnavailableError saying the
    change was not confirmed; after a restart the pointer, the promotion record and the audit
    log are exactly as before."""
    with running_control_plane(etcd_server, tmp_path) as cp:
        experiment = cp.approved_experiment(cp.challenger_a)
        pointer_before = cp.etcd_get(cp.keys.pointer)
        head_before = cp.etcd_get(cp.keys.audit_head)

        async def scenario() -> None:
            kv = _DyingKV(
                etcd_server.endpoint, etcd_server.kill, etcd_server.credentials(ROOT_USER)
            )
            await kv.connect()
            records = RecordReader(kv, cp.keys, cp.trusted())
            audit = AuditLog(kv, cp.keys, utc_now)
            writer = PointerWriter(cp.keys, audit, cp.signer())
            promoter = Promoter(cp.keys, records, audit, utc_now, writer)
            with pytest.raises(StoreUnavailableError, match="not confirmed"):
                await promoter.promote(experiment.experiment_id, "olga")
            await kv.close()

        asyncio.run(scenario())
        etcd_server.stop()  # the process is gone; this closes its log before the restart
        etcd_server.start()
        assert cp.etcd_get(cp.keys.pointer) == pointer_before
        assert cp.etcd_get(cp.keys.audit_head) == head_before
        assert cp.etcd_get(cp.keys.promotion(experiment.experiment_id)) is None
