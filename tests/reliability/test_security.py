"""The role table holds for every control-plane RPC and role, and tokens never reach logs.

(Unauthenticated calls, a few wrong-role calls, health without credentials and mTLS are
pinned in tests/control_plane/; this adds the exhaustive table and more log coverage.)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from structlog.testing import capture_logs

from control_plane.auth.roles import RPC_ROLES, Role
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.etcd.local_server import LocalEtcd
from tests.control_plane.harness import (
    ControlPlaneHarness,
    code_of,
    details_of,
    rpc_error,
    running_control_plane,
)

#: One demo principal holding exactly each role.
HOLDER = {
    Role.EXPERIMENTER: "alice",
    Role.REVIEWER: "bob",
    Role.OPERATOR: "olga",
    Role.SERVICE: "serving",
}
SERVICE = pb.DESCRIPTOR.services_by_name["ControlPlaneService"]
DENIED = [(rpc, role) for rpc in sorted(RPC_ROLES) for role in Role if role not in RPC_ROLES[rpc]]


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneHarness]:
    if shutil.which("etcd") is None:
        pytest.fail("etcd is not installed; run `make setup` (it installs etcd-server)")
    directory = Path(tmp_path_factory.mktemp("security"))
    etcd = LocalEtcd(data_dir=directory / "etcd")
    etcd.start()
    try:
        etcd.secure(directory / "etcd-credentials")
        with running_control_plane(etcd, directory) as harness:
            yield harness
    finally:
        etcd.stop()


def _call(harness: ControlPlaneHarness, rpc: str, metadata: Any) -> grpc.RpcError | None:
    """Calls rpc with an empty request as the given metadata; the error, or None on OK."""
    method = SERVICE.methods_by_name[rpc]
    request = getattr(pb, method.input_type.name)()
    stub_method = getattr(harness.stub, rpc)
    try:
        if method.client_streaming:
            stub_method(iter([request]), metadata=metadata, timeout=10)
        elif method.server_streaming:
            stream = stub_method(request, metadata=metadata, timeout=10)
            next(stream)
            stream.cancel()
        else:
            stub_method(request, metadata=metadata, timeout=10)
    except grpc.RpcError as exc:
        return exc
    return None


def test_every_rpc_is_in_the_role_table() -> None:
    """The table names every RPC of the service, so none falls to the default deny
    by accident."""
    assert set(RPC_ROLES) == set(SERVICE.methods_by_name)
    assert len(DENIED) > 20


@pytest.mark.parametrize(("rpc", "role"), DENIED, ids=[f"{r}-{o.value}" for r, o in DENIED])
def test_role_not_in_the_table_is_permission_denied(
    control_plane: ControlPlaneHarness, rpc: str, role: Role
) -> None:
    """Every RPC called by a principal holding only a role the table does not list for it
    is PERMISSION_DENIED, naming the RPC, before any request checks."""
    error = _call(control_plane, rpc, control_plane.auth(HOLDER[role]))
    assert error is not None, f"{HOLDER[role]} ({role}) could call {rpc}"
    assert code_of(error) == grpc.StatusCode.PERMISSION_DENIED, details_of(error)
    assert f"may not call {rpc}" in details_of(error)


def _values(entry: Any) -> Iterator[str]:
    if isinstance(entry, dict):
        for key, value in entry.items():
            yield str(key)
            yield from _values(value)
    elif isinstance(entry, list | tuple | set):
        for value in entry:
            yield from _values(value)
    else:
        yield str(entry)


def test_tokens_never_appear_in_any_log_value(control_plane: ControlPlaneHarness) -> None:
    """Every RPC called with each valid token, with a forged one, and with a token under
    the wrong scheme: no log entry's key or value contains any of the token strings."""
    forged = "rmcp_forged-token-for-the-log-check"
    tokens = [*control_plane.tokens.values(), forged]
    with capture_logs() as logs:
        for rpc in sorted(RPC_ROLES):
            for name in ("alice", "bob", "olga", "serving"):
                _call(control_plane, rpc, control_plane.auth(name))
            _call(control_plane, rpc, (("authorization", f"Bearer {forged}"),))
            _call(control_plane, rpc, (("authorization", f"Token {tokens[0]}"),))
        error = rpc_error(
            control_plane.stub.WhoAmI,
            pb.WhoAmIRequest(),
            metadata=(("authorization", f"Bearer {forged}"),),
        )
        assert code_of(error) == grpc.StatusCode.UNAUTHENTICATED
    assert len(logs) > 50
    leaked = [
        entry
        for entry in logs
        for value in _values(entry)
        if any(token in value for token in tokens)
    ]
    assert leaked == []
