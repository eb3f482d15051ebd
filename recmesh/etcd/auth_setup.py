"""Turns etcd's auth on for a recmesh installation, as root, and keeps it so.

Creates the users of recmesh/etcd/users.py with the passwords of their files, one role
per non-root user holding exactly its grants on each installation prefix, and then
enables auth. Run again (every `recmesh up`, every etcd restart of the test harness),
it logs in as root and adds only what is missing: a prefix of a new installation, a
user or role someone deleted. It removes nothing and never changes a password.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc
from etcd3aio import Etcd3Client, PermissionType

from recmesh.etcd.client import etcd_client
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.keys import DEFAULT_PREFIX
from recmesh.etcd.password_files import EtcdPasswordFiles
from recmesh.etcd.users import ROOT_USER, USERS, KeyGrant, installation_grants
from recmesh.rpc.tls import TlsFiles

ROOT_ROLE = "root"
_NOT_ENABLED = "authentication is not enabled"


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
    root password file does not match) or EtcdCredentialsError (a password file)."""
    client = etcd_client(endpoints, tls)
    await client.connect()
    try:
        token = await _root_token(client, passwords.root, timeout_s)
        if token is not None:
            client.set_token(token)
        await _ensure_users(client, passwords, prefixes, timeout_s)
        if token is None:
            assert client.auth is not None
            await client.auth.auth_enable(timeout=timeout_s)
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


def _perm_type(grant: KeyGrant) -> PermissionType:
    return PermissionType.READWRITE if grant.write else PermissionType.READ
