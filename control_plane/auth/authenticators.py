"""How a call's principal is established: a bearer token, or a client certificate."""

from __future__ import annotations

from typing import Any, Protocol

import grpc

from control_plane.auth.principals import Principals
from control_plane.auth.roles import Principal
from recmesh.rpc.errors import UnauthenticatedError

AUTHORIZATION_KEY = "authorization"


class Authenticator(Protocol):
    def authenticate(self, context: grpc.aio.ServicerContext[Any, Any]) -> Principal:
        """The caller of this call; raises UnauthenticatedError when the credentials are
        missing or wrong. Never includes a credential in the message."""
        ...


class TokenAuthenticator:
    """`authorization: Bearer TOKEN` metadata, checked against the tokens' sha256."""

    def __init__(self, principals: Principals) -> None:
        self._principals = principals

    def authenticate(self, context: grpc.aio.ServicerContext[Any, Any]) -> Principal:
        values = [
            str(value)
            for key, value in (context.invocation_metadata() or ())
            if key == AUTHORIZATION_KEY
        ]
        if not values:
            raise UnauthenticatedError(
                "missing credentials: send 'authorization: Bearer TOKEN' metadata "
                "(the recmesh CLI does, with --as NAME)"
            )
        scheme, _, token = values[0].partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthenticatedError("malformed authorization metadata: expected 'Bearer TOKEN'")
        principal = self._principals.by_token(token.strip())
        if principal is None:
            raise UnauthenticatedError("invalid bearer token")
        return principal


class CertificateAuthenticator:
    """Mutual TLS: the principal named by the client certificate's CN, else by a SAN."""

    def __init__(self, principals: Principals) -> None:
        self._principals = principals

    def authenticate(self, context: grpc.aio.ServicerContext[Any, Any]) -> Principal:
        auth = context.auth_context()
        names = [
            value.decode(errors="replace")
            for key in ("x509_common_name", "x509_subject_alternative_name")
            for value in auth.get(key, ())
        ]
        if not names:
            raise UnauthenticatedError(
                "no client certificate: this control plane requires mutual TLS"
            )
        for name in names:
            principal = self._principals.by_name(name)
            if principal is not None:
                return principal
        raise UnauthenticatedError(
            f"client certificate for {names[0]!r} does not name a known principal"
        )
