"""Promote refuses a challenger whose snapshot would forget logged interactions."""

from __future__ import annotations

import grpc

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.bundle.writer import WrittenBundle
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error


def _register(harness: ControlPlaneHarness, bundle: WrittenBundle, rows: dict[str, int]) -> str:
    response = harness.stub.RegisterModelVersion(
        pb.RegisterModelVersionRequest(
            manifest_sha256=bundle.manifest_sha256,
            lineage=records_pb2.Lineage(interaction_log_rows=rows),
        ),
        metadata=harness.auth("alice"),
    )
    return str(response.model_version.version_id)


def _approved(harness: ControlPlaneHarness, version: str) -> str:
    experiment = harness.create_experiment(version)
    harness.record(experiment)
    harness.approve(experiment.experiment_id)
    return str(experiment.experiment_id)


def test_a_challenger_lacking_logged_lines_the_champion_serves_is_refused(
    control_plane: ControlPlaneHarness,
) -> None:
    """With a champion whose snapshot holds 3 log lines, a challenger built without them
    is refused FAILED_PRECONDITION naming them, audited, and the pointer stays; one that
    holds them is promoted."""
    logged = _register(control_plane, control_plane.challenger_a, {"recommend-7.tsv": 3})
    control_plane.promote(_approved(control_plane, logged))
    assert control_plane.pointer().serving_version == logged

    forgetful = _approved(control_plane, _register(control_plane, control_plane.challenger_b, {}))
    error = rpc_error(
        control_plane.stub.Promote,
        pb.PromoteRequest(experiment_id=forgetful),
        metadata=control_plane.auth("olga"),
    )
    assert code_of(error) == grpc.StatusCode.FAILED_PRECONDITION
    assert "3 logged interactions" in details_of(error)
    assert "3 of recommend-7.tsv" in details_of(error)
    assert control_plane.pointer().serving_version == logged
    refused = control_plane.audit_entries()[-1]
    assert refused.action == "promote_refused"
    assert "would forget them" in refused.details["reason"]
