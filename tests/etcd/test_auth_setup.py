"""secure_etcd: exactly recmesh's users, roles and grants, and a refusal of any other."""

from __future__ import annotations

import asyncio

import pytest
from etcd3aio import Etcd3Client, PermissionType
from structlog.testing import capture_logs

from recmesh.etcd.auth_setup import ForeignAuthError, secure_etcd_async
from recmesh.etcd.client import etcd_client
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.users import CONTROL_PLANE_USER, ROOT_USER, SERVING_USER

PREFIX = "/recmesh/v1"


async def _as_root(etcd: LocalEtcd) -> Etcd3Client:
    client = etcd_client([etcd.endpoint], None)
    await client.connect()
    assert client.auth is not None
    root = etcd.credentials(ROOT_USER)
    client.set_token(str((await client.auth.authenticate(root.user, root.password)).token))
    return client


async def _perms(client: Etcd3Client, role: str) -> set[tuple[str, str, str]]:
    assert client.auth is not None
    return {
        (bytes(p.key).decode(), bytes(p.range_end).decode(), PermissionType(p.permType).name)
        for p in (await client.auth.role_get(role)).perm
    }


def test_the_users_roles_and_permissions_are_exactly_recmeshs(etcd_server: LocalEtcd) -> None:
    """After secure (and again after a second prefix): three users, each holding only its
    own role; the control plane reads and writes each prefix, serving reads each pointer
    key, reads and writes each prefix's rollout_arms/ range, and nothing else."""

    async def main() -> None:
        assert etcd_server.passwords is not None
        await secure_etcd_async([etcd_server.endpoint], etcd_server.passwords, ("/other",))
        client = await _as_root(etcd_server)
        try:
            auth = client.auth
            assert auth is not None
            assert sorted((await auth.user_list()).users) == sorted(
                [ROOT_USER, CONTROL_PLANE_USER, SERVING_USER]
            )
            # etcd keeps the root role built in: role_list does not show it.
            assert sorted((await auth.role_list()).roles) == [CONTROL_PLANE_USER, SERVING_USER]
            for user, role in [
                (ROOT_USER, "root"),
                (CONTROL_PLANE_USER, CONTROL_PLANE_USER),
                (SERVING_USER, SERVING_USER),
            ]:
                assert list((await auth.user_get(user)).roles) == [role]
            assert await _perms(client, CONTROL_PLANE_USER) == {
                ("/recmesh/v1/", "/recmesh/v10", "READWRITE"),
                ("/other/", "/other0", "READWRITE"),
            }
            assert await _perms(client, SERVING_USER) == {
                ("/recmesh/v1/serving/pointer", "", "READ"),
                ("/other/serving/pointer", "", "READ"),
                ("/recmesh/v1/rollout_arms/", "/recmesh/v1/rollout_arms0", "READWRITE"),
                ("/other/rollout_arms/", "/other/rollout_arms0", "READWRITE"),
            }
        finally:
            await client.close()

    asyncio.run(main())


def test_access_recmesh_did_not_grant_is_named_and_refused(etcd_server: LocalEtcd) -> None:
    """Another user, another role, a recmesh user holding another role and a recmesh
    role's wider permission each get a warning, and secure raises ForeignAuthError
    naming them all (nothing is revoked)."""

    async def main() -> None:
        client = await _as_root(etcd_server)
        try:
            auth = client.auth
            assert auth is not None
            await auth.user_add("mallory", "pw")
            await auth.role_add("ops")
            await auth.user_grant_role(SERVING_USER, "ops")
            await auth.role_grant_permission(
                SERVING_USER, "/recmesh/v1/", "/recmesh/v10", perm_type=PermissionType.READ
            )
            await auth.role_grant_permission(
                CONTROL_PLANE_USER, "/", "\0", perm_type=PermissionType.READWRITE
            )
            # Wider than the rollout_arms/ range by one key: still foreign.
            await auth.role_grant_permission(
                SERVING_USER,
                "/recmesh/v1/rollout_arms/",
                "/recmesh/v1/rollout_arms1",
                perm_type=PermissionType.READWRITE,
            )
            await auth.role_grant_permission(
                SERVING_USER, "/recmesh/v1/serving/", None, perm_type=PermissionType.READWRITE
            )
        finally:
            await client.close()
        assert etcd_server.passwords is not None
        with capture_logs() as logs, pytest.raises(ForeignAuthError) as refused:
            await secure_etcd_async([etcd_server.endpoint], etcd_server.passwords)
        expected = [
            "user mallory",
            "role ops",
            f"user {SERVING_USER} holds role ops",
            f"role {CONTROL_PLANE_USER}: READWRITE on ['/', '\\x00')",
            f"role {SERVING_USER}: READ on ['/recmesh/v1/', '/recmesh/v10')",
            f"role {SERVING_USER}: READWRITE on "
            "['/recmesh/v1/rollout_arms/', '/recmesh/v1/rollout_arms1')",
            f"role {SERVING_USER}: READWRITE on '/recmesh/v1/serving/'",
        ]
        assert refused.value.foreign == expected
        warned = [e["access"] for e in logs if e["event"] == "etcd_auth_foreign"]
        assert warned == expected
        for item in expected:
            assert item in str(refused.value)

    asyncio.run(main())
