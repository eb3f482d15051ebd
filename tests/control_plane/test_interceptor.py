"""Every call is authenticated and checked against the role table before it runs."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from structlog.testing import capture_logs

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error


@pytest.mark.parametrize(
    "metadata",
    [
        (),
        (("authorization", "Bearer rmcp_forged-token-that-nobody-was-given"),),
        (("authorization", "Basic YWxpY2U6c2VjcmV0"),),
        (("authorization", "Bearer "),),
    ],
    ids=["no-token", "forged-token", "wrong-scheme", "empty-token"],
)
def test_calls_without_valid_token_are_unauthenticated(
    control_plane: ControlPlaneHarness, metadata: tuple[tuple[str, str], ...]
) -> None:
    """Unary, client-streaming and server-streaming calls without a valid bearer token are
    UNAUTHENTICATED; nothing runs."""
    error = rpc_error(control_plane.stub.GetPointer, pb.GetPointerRequest(), metadata=metadata)
    assert code_of(error) == grpc.StatusCode.UNAUTHENTICATED
    error = rpc_error(
        control_plane.stub.UploadArtifact,
        iter([pb.UploadArtifactRequest(header=pb.ArtifactHeader(name="x"))]),
        metadata=metadata,
    )
    assert code_of(error) == grpc.StatusCode.UNAUTHENTICATED
    stream = control_plane.stub.WatchPointer(pb.WatchPointerRequest(), metadata=metadata)
    error = rpc_error(next, stream)
    assert code_of(error) == grpc.StatusCode.UNAUTHENTICATED


def test_missing_token_message_says_how_to_authenticate(
    control_plane: ControlPlaneHarness,
) -> None:
    """The UNAUTHENTICATED message tells the caller what to send."""
    error = rpc_error(control_plane.stub.WhoAmI, pb.WhoAmIRequest())
    assert "authorization: Bearer TOKEN" in details_of(error)


@pytest.mark.parametrize(
    ("who", "rpc", "request_"),
    [
        ("bob", "Promote", pb.PromoteRequest(experiment_id="exp-1")),
        ("alice", "Rollback", pb.RollbackRequest(reason="x")),
        ("serving", "CreateExperiment", pb.CreateExperimentRequest()),
        ("serving", "ListAuditEntries", pb.ListAuditEntriesRequest()),
        ("olga", "RegisterModelVersion", pb.RegisterModelVersionRequest()),
        ("dana", "RecordEvaluation", pb.RecordEvaluationRequest()),
    ],
)
def test_wrong_role_is_permission_denied(
    control_plane: ControlPlaneHarness, who: str, rpc: str, request_: object
) -> None:
    """A principal without a role the RPC allows is PERMISSION_DENIED, naming what it needs."""
    error = rpc_error(getattr(control_plane.stub, rpc), request_, metadata=control_plane.auth(who))
    assert code_of(error) == grpc.StatusCode.PERMISSION_DENIED
    assert f"{who} (roles:" in details_of(error)
    assert f"may not call {rpc}" in details_of(error)


def test_pointer_is_unchanged_by_a_denied_promote(control_plane: ControlPlaneHarness) -> None:
    """A reviewer's Promote never reaches the promotion logic: no audit entry, same pointer."""
    before = control_plane.pointer()
    entries = len(control_plane.audit_entries())
    rpc_error(control_plane.promote, "exp-1", by="bob")
    assert control_plane.pointer() == before
    assert len(control_plane.audit_entries()) == entries


def test_health_needs_no_credentials(control_plane: ControlPlaneHarness) -> None:
    """Health checks (for supervisors and balancers) pass without a token."""
    health = health_pb2_grpc.HealthStub(control_plane.channel)
    response = health.Check(health_pb2.HealthCheckRequest(service=""))
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_tokens_are_never_logged(control_plane: ControlPlaneHarness) -> None:
    """Refused and accepted calls log the principal and status, never a token."""
    forged = "rmcp_should-not-appear-in-logs"
    with capture_logs() as logs:
        rpc_error(
            control_plane.stub.WhoAmI,
            pb.WhoAmIRequest(),
            metadata=(("authorization", f"Bearer {forged}"),),
        )
        rpc_error(control_plane.promote, "exp-missing", by="olga")
    assert logs
    text = repr(logs)
    assert forged not in text
    assert all(token not in text for token in control_plane.tokens.values())
