"""CreateExperiment captures the champion; Get and List derive each experiment's state."""

from __future__ import annotations

import grpc

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from testkit.records import spec_for
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error


def _create(control_plane: ControlPlaneHarness, spec: records_pb2.ExperimentSpec) -> None:
    control_plane.stub.CreateExperiment(
        pb.CreateExperimentRequest(spec=spec), metadata=control_plane.auth("alice")
    )


def test_create_captures_champion_and_pointer_revision(
    control_plane: ControlPlaneHarness,
) -> None:
    """The experiment records the serving version and the pointer's etcd mod_revision at
    creation, who submitted it, 1 approval by default, state CREATED; audited."""
    pointer = control_plane.pointer()
    stored = control_plane.etcd_get(control_plane.keys.pointer)
    assert stored is not None
    challenger = control_plane.register(control_plane.challenger_a)
    experiment = control_plane.create_experiment(challenger)
    assert experiment.experiment_id.startswith("exp-")
    assert experiment.champion_version == pointer.serving_version
    assert experiment.champion_pointer_revision == stored[1] == pointer.revision
    assert experiment.submitted_by == "alice"
    assert experiment.spec.approvals_required == 1
    assert experiment.state == records_pb2.EXPERIMENT_STATE_CREATED
    last = control_plane.audit_entries()[-1]
    assert (last.action, last.subject) == ("create_experiment", experiment.experiment_id)
    assert last.details["champion_pointer_revision"] == str(pointer.revision)


def test_unknown_challenger_is_not_found(control_plane: ControlPlaneHarness) -> None:
    """A challenger version that was never registered is NOT_FOUND."""
    error = rpc_error(_create, control_plane, spec_for("sv-0000000000000000"))
    assert code_of(error) == grpc.StatusCode.NOT_FOUND
    assert "model version 'sv-0000000000000000' is not registered" in details_of(error)


def test_challenger_equal_to_champion_is_invalid(control_plane: ControlPlaneHarness) -> None:
    """Measuring the champion against itself is INVALID_ARGUMENT."""
    error = rpc_error(_create, control_plane, spec_for(control_plane.baseline.version_id))
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    assert "is the current serving version" in details_of(error)


def test_invalid_specs_are_refused_with_the_reason(control_plane: ControlPlaneHarness) -> None:
    """Spec validation reaches the caller as INVALID_ARGUMENT with an actionable message."""
    challenger = control_plane.register(control_plane.challenger_a)
    spec = spec_for(challenger)
    spec.guardrails[0].margin = -0.5
    error = rpc_error(_create, control_plane, spec)
    assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
    assert "margin must be between 0 and 1" in details_of(error)
    spec = spec_for(challenger)
    spec.success_metrics.append("mrr")
    error = rpc_error(_create, control_plane, spec)
    assert "success metric 'mrr' is not among spec.metrics" in details_of(error)


def test_get_and_list_by_state(control_plane: ControlPlaneHarness) -> None:
    """List filters by the derived state; Get returns the evaluation and reviews too."""
    created = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    approved = control_plane.approved_experiment(control_plane.challenger_b)

    def listed(state: int) -> list[str]:
        response = control_plane.stub.ListExperiments(
            pb.ListExperimentsRequest(state=state),  # type: ignore[arg-type]
            metadata=control_plane.auth("dana"),
        )
        return [e.experiment_id for e in response.experiments]

    assert listed(records_pb2.EXPERIMENT_STATE_UNSPECIFIED) == [
        created.experiment_id,
        approved.experiment_id,
    ]
    assert listed(records_pb2.EXPERIMENT_STATE_CREATED) == [created.experiment_id]
    assert listed(records_pb2.EXPERIMENT_STATE_APPROVED) == [approved.experiment_id]
    assert listed(records_pb2.EXPERIMENT_STATE_PROMOTED) == []
    shown = control_plane.stub.GetExperiment(
        pb.GetExperimentRequest(experiment_id=approved.experiment_id),
        metadata=control_plane.auth("olga"),
    )
    assert shown.experiment.state == records_pb2.EXPERIMENT_STATE_APPROVED
    assert shown.evaluation.verdict == records_pb2.VERDICT_PASS
    assert [r.author for r in shown.reviews] == ["bob"]
    error = rpc_error(
        control_plane.stub.GetExperiment,
        pb.GetExperimentRequest(experiment_id="exp-missing"),
        metadata=control_plane.auth("olga"),
    )
    assert code_of(error) == grpc.StatusCode.NOT_FOUND


def test_a_rule_weaker_than_the_floors_is_refused(control_plane: ControlPlaneHarness) -> None:
    """A spec asking for 10 resamples, or 50 % confidence, is INVALID_ARGUMENT naming the
    control plane's floor (200 resamples, 0.9 by default) and audited; at the floors it is
    recorded."""
    challenger = control_plane.register(control_plane.challenger_a)
    weak = {
        "floor of 200 (--resamples-floor)": spec_for(challenger, min_resamples=10),
        "floor of 0.9 (--confidence-floor)": spec_for(challenger, confidence=0.5),
    }
    for message, spec in weak.items():
        error = rpc_error(_create, control_plane, spec)
        assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
        assert message in details_of(error)
        refusal = control_plane.audit_entries()[-1]
        assert (refusal.action, refusal.actor, refusal.details["code"]) == (
            "create_experiment_refused",
            "alice",
            "INVALID_ARGUMENT",
        )
        assert message in refusal.details["reason"]
    experiment = control_plane.create_experiment(challenger, confidence=0.9, min_resamples=200)
    assert (round(experiment.rule.confidence, 6), experiment.rule.min_resamples) == (0.9, 200)


def _guarded_spec(challenger: str, guardrail: records_pb2.Guardrail) -> records_pb2.ExperimentSpec:
    spec = spec_for(challenger)
    spec.metrics.append("popularity")
    del spec.guardrails[:]
    spec.guardrails.append(guardrail)
    return spec


def test_a_guardrail_against_its_metrics_direction_is_refused(
    control_plane: ControlPlaneHarness,
) -> None:
    """A guardrail declaring the way its metric gets worse (coverage lower-is-better,
    popularity higher-is-better) is INVALID_ARGUMENT naming the metric and the way it gets
    better, audited and not recorded; popularity declared lower-is-better is recorded."""
    challenger = control_plane.register(control_plane.challenger_a)
    higher = records_pb2.METRIC_DIRECTION_HIGHER_IS_BETTER
    lower = records_pb2.METRIC_DIRECTION_LOWER_IS_BETTER
    wrong = {
        "guardrail 'coverage': coverage gets better higher, so a guardrail on it cannot "
        "declare 'lower is better'": records_pb2.Guardrail(
            metric="coverage", margin=0.02, direction=lower
        ),
        "guardrail 'popularity': popularity gets better lower, so a guardrail on it cannot "
        "declare 'higher is better'": records_pb2.Guardrail(
            metric="popularity", margin=0.05, direction=higher
        ),
    }
    for message, guardrail in wrong.items():
        error = rpc_error(_create, control_plane, _guarded_spec(challenger, guardrail))
        assert code_of(error) == grpc.StatusCode.INVALID_ARGUMENT
        assert details_of(error) == message
        refusal = control_plane.audit_entries()[-1]
        assert (refusal.action, refusal.details["reason"]) == ("create_experiment_refused", message)
    listed = control_plane.stub.ListExperiments(
        pb.ListExperimentsRequest(), metadata=control_plane.auth("alice")
    )
    assert list(listed.experiments) == []
    right = records_pb2.Guardrail(metric="popularity", margin=0.05, direction=lower)
    experiment = control_plane.stub.CreateExperiment(
        pb.CreateExperimentRequest(spec=_guarded_spec(challenger, right)),
        metadata=control_plane.auth("alice"),
    ).experiment
    assert [(g.metric, g.direction) for g in experiment.rule.guardrails] == [("popularity", lower)]
