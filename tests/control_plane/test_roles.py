"""The role table covers every RPC of the service, and only operators move the pointer."""

from __future__ import annotations

import pytest

from control_plane.auth.roles import RPC_ROLES, Role, parse_roles
from recmesh.api.controlplane.v1 import control_plane_pb2


def test_every_rpc_has_an_entry() -> None:
    """Each RPC of ControlPlaneService is in RPC_ROLES (a missing one would be denied)."""
    service = control_plane_pb2.DESCRIPTOR.services_by_name["ControlPlaneService"]
    assert set(RPC_ROLES) == {method.name for method in service.methods}


def test_pointer_moves_are_operator_only() -> None:
    """Promote and Rollback are for operators; the service role only reads the pointer."""
    assert RPC_ROLES["Promote"] == {Role.OPERATOR}
    assert RPC_ROLES["Rollback"] == {Role.OPERATOR}
    readable = {rpc for rpc, roles in RPC_ROLES.items() if Role.SERVICE in roles}
    assert readable == {"WhoAmI", "GetPointer", "WatchPointer"}


def test_unknown_role_names_are_refused() -> None:
    """A role name outside the four is a ValueError naming it and the known ones."""
    assert parse_roles(["reviewer", "operator"], "x") == {Role.REVIEWER, Role.OPERATOR}
    with pytest.raises(ValueError, match="unknown role 'admin'"):
        parse_roles(["admin"], "x")
