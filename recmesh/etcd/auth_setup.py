"""Turns etcd's auth on for a recmesh installation, as root, and keeps it so.

Creates the users of recmesh/etcd/users.py with the passwords of their files, one role
per non-root user holding exactly its grants on each installation prefix, and then
enables auth. Run again (every `recmesh up`, every etcd restart of the test harness),
it logs in as root and adds only what is missing: a prefix of a new installation, a
user or role someone deleted. It never changes a password.

It removes nothing either, but it refuses what it did not make: any other user or
role, a recmesh user holding another role, a permission of a recmesh role that is not
the shape of an installation's grant (read-write on `{prefix}/` for the control
plane, read on `{prefix}/serving/pointer` and read-write on exactly the range of
`{prefix}/rollout_arms/` for serving, on any prefix: an etcd may host several
installations). Each is logged (`etcd_auth_foreign`) and the call raises
ForeignAuthError naming them all, so `recmesh up` does not start until an operator
removed them (`etcdctl user delete`, `role delete`, `role revoke-permission`, `user
revoke-role`, as root). Refusing rather than revoking: whoever added them may depend
on them, and deleting access silently is no better than keeping it silently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc
import structlog
from etcd3aio import Etcd3Client, PermissionType

from recmesh.etcd.client import etcd_client
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.keys import DEFAULT_PREFIX, KeySchema, prefix_range_end
from recmesh.etcd.password_files import EtcdPasswordFiles
from recmesh.etcd.users import (
    CONTROL_PLANE_USER,
    ROOT_USER,
    SERVING_USER,
    USERS,
    KeyGrant,
    installation_grants,
)
from recmesh.rpc.tls import TlsFiles

log = structlog.get_logger("recmesh.etcd.auth")

ROOT_ROLE = "root"
_NOT_ENABLED = "authentication is not enabled"
#: The role each recmesh user holds, and nothing else.
_ROLE_OF = {user: ROOT_ROLE if user == ROOT_USER else user for user in USERS}
_POINTER_SUFFIX = KeySchema("").pointer
_ARMS_SUFFIX = KeySchema("").rollout_arms_root


class ForeignAuthError(RuntimeError):
    """etcd holds users, roles or permissions recmesh did not make; `foreign` names
    each ("user mallory", "role recmesh-serving: READWRITE on [/, \\0)", ...)."""

    def __init__(self, foreign: list[str]) -> None:
        self.foreign = foreign
        super().__init__(
            "etcd holds access recmesh did not grant (remove it as etcd's root, then start "
            "again): " + "; ".join(foreign)
        )


async def secure_etcd_async(
    endpoints: Sequence[str],
    passwords: EtcdPasswordFiles,
    prefixes: Sequence[str] = (DEFAULT_PREFIX,),
    *,
    tls: TlsFiles | None = None,
    timeout_s: float = 10.0,
) -> None:
    """Makes etcd at endpoints require auth with the installation's users and grants
    on every prefix; raises EtcdError (EtcdUnauthenticatedError when auth is on and the
    root password file does not match), EtcdCredentialsError (a password file) or
    ForeignAuthError (access recmesh did not grant; auth stays on)."""
    client = etcd_client(endpoints, tls)
    await client.connect()
    try:
        token = await _root_token(client, passwords.root, timeout_s)
        if token is not None:
            client.set_token(token)
        await _ensure_users(client, passwords, prefixes, timeout_s)
        foreign = await _foreign_access(client, timeout_s)
        if token is None:
            assert client.auth is not None
            await client.auth.auth_enable(timeout=timeout_s)
        if foreign:
            for item in foreign:
                log.warning("etcd_auth_foreign", access=item)
            raise ForeignAuthError(foreign)
    finally:
        await client.close()


def secure_etcd(
    endpoints: Sequence[str],
    passwords: EtcdPasswordFiles,
    prefixes: Sequence[str] = (DEFAULT_PREFIX,),
    *,
    tls: TlsFiles | None = None,
) -> None:
    """Synchronous form of secure_etcd_async, for callers without an event loop."""
    asyncio.run(secure_etcd_async(endpoints, passwords, prefixes, tls=tls))


async def _root_token(client: Etcd3Client, root: EtcdCredentials, timeout_s: float) -> str | None:
    """root's token, or None while auth is off (etcd 3.4 has no AuthStatus: logging in
    tells). Raises EtcdUnauthenticatedError when auth is on and the password does not
    match."""
    assert client.auth is not None
    try:
        response = await client.auth.authenticate(root.user, root.password, timeout=timeout_s)
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.FAILED_PRECONDITION and _NOT_ENABLED in (
            exc.details() or ""
        ):
            return None
        raise
    return str(response.token)


async def _ensure_users(
    client: Etcd3Client,
    passwords: EtcdPasswordFiles,
    prefixes: Sequence[str],
    timeout_s: float,
) -> None:
    auth = client.auth
    assert auth is not None
    users = set((await auth.user_list(timeout=timeout_s)).users)
    roles = set((await auth.role_list(timeout=timeout_s)).roles)
    for user in USERS:
        if user not in users:
            await auth.user_add(user, passwords.credentials(user).password, timeout=timeout_s)
        role = ROOT_ROLE if user == ROOT_USER else user
        if role != ROOT_ROLE and role not in roles:
            await auth.role_add(role, timeout=timeout_s)
        held = set((await auth.user_get(user, timeout=timeout_s)).roles)
        if role not in held:
            await auth.user_grant_role(user, role, timeout=timeout_s)
    wanted = [grant for prefix in prefixes for grant in installation_grants(prefix)]
    for role in {grant.role for grant in wanted}:
        response = await auth.role_get(role, timeout=timeout_s)
        present = {
            (bytes(p.key).decode(), bytes(p.range_end).decode(), int(p.permType))
            for p in response.perm
        }
        for grant in (g for g in wanted if g.role == role):
            if (grant.key, grant.range_end, int(_perm_type(grant))) not in present:
                await auth.role_grant_permission(
                    role,
                    grant.key,
                    grant.range_end or None,
                    perm_type=_perm_type(grant),
                    timeout=timeout_s,
                )


async def _foreign_access(client: Etcd3Client, timeout_s: float) -> list[str]:
    """Every user, role, role grant and permission recmesh would not have made."""
    auth = client.auth
    assert auth is not None
    foreign: list[str] = []
    users = sorted((await auth.user_list(timeout=timeout_s)).users)
    roles = sorted((await auth.role_list(timeout=timeout_s)).roles)
    foreign += [f"user {user}" for user in users if user not in _ROLE_OF]
    foreign += [f"role {role}" for role in roles if role not in _ROLE_OF.values()]
    for user, role in _ROLE_OF.items():
        held = sorted((await auth.user_get(user, timeout=timeout_s)).roles)
        foreign += [f"user {user} holds role {other}" for other in held if other != role]
    for role in (CONTROL_PLANE_USER, SERVING_USER):
        for perm in (await auth.role_get(role, timeout=timeout_s)).perm:
            key, end = bytes(perm.key).decode(), bytes(perm.range_end).decode()
            kind = PermissionType(int(perm.permType))
            if not _installation_shaped(role, key, end, kind):
                foreign.append(f"role {role}: {kind.name} on {_describe(key, end)}")
    return foreign


def _installation_shaped(role: str, key: str, end: str, kind: PermissionType) -> bool:
    """Whether the permission is one installation_grants gives role, for some prefix."""
    if role == CONTROL_PLANE_USER:
        return (
            kind == PermissionType.READWRITE
            and len(key) > 1
            and key.endswith("/")
            and end == prefix_range_end(key)
        )
    if kind == PermissionType.READWRITE:
        # The serving role's one writable range: a front's counts per arm, and only
        # exactly that prefix's range (a wider end would reach other keys).
        return (
            key.endswith(_ARMS_SUFFIX)
            and len(key) > len(_ARMS_SUFFIX)
            and end == prefix_range_end(key)
        )
    return (
        kind == PermissionType.READ
        and end == ""
        and key.endswith(_POINTER_SUFFIX)
        and len(key) > len(_POINTER_SUFFIX)
    )


def _describe(key: str, end: str) -> str:
    if not end:
        return repr(key)
    return f"[{key!r}, {end!r})"


def _perm_type(grant: KeyGrant) -> PermissionType:
    return PermissionType.READWRITE if grant.write else PermissionType.READ
