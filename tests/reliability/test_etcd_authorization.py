"""etcd's own authorization, attacked against real etcd and the real control plane.

The pointer written straight into etcd with no credentials, as the serving user, or as
the control-plane user outside its prefix is refused by etcd itself; only the users of
recmesh/etcd/users.py exist, and their passwords sit in files of mode 0600. A long-lived
client (the control plane's store) logs in again after etcd restarts and forgets its
token. Prints the figures for docs/reliability.md (the mTLS attacks, with people's
certificates, are in test_mtls_mesh.py).
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import grpc
import pytest
from etcd3aio import Etcd3Client, EtcdPermissionDeniedError
from etcd3aio.auth import AuthService
from etcd3aio.kv import KVService

from control_plane.store.errors import StoreUnavailableError
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.txn import Put
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.session import EtcdSession
from recmesh.etcd.users import CONTROL_PLANE_USER, ROOT_USER, SERVING_USER, USERS
from tests.control_plane.harness import running_control_plane
from tests.reliability.load import report

FORGED = b'{"servingVersion": "sv-forged", "manifestSha256": "00"}'


def _kv(client: Etcd3Client) -> KVService:
    assert client.kv is not None
    return client.kv


async def _put_as(user: EtcdCredentials, endpoint: str, key: str, value: bytes) -> None:
    session = EtcdSession([endpoint], credentials=user)
    await session.open()
    try:
        await session.call(lambda c: _kv(c).put(key, value, timeout=3))
    finally:
        await session.close()


async def _get_as(user: EtcdCredentials, endpoint: str, key: str) -> None:
    session = EtcdSession([endpoint], credentials=user)
    await session.open()
    try:
        await session.call(lambda c: _kv(c).get(key, timeout=3))
    finally:
        await session.close()


async def _put_anonymous(endpoint: str, key: str, value: bytes) -> None:
    async with Etcd3Client([endpoint], rpc_max_attempts=1) as client:
        await _kv(client).put(key, value, timeout=3)


def test_pointer_written_behind_the_control_plane_is_refused_by_etcd(
    etcd_server: LocalEtcd, tmp_path: Path
) -> None:
    """No credentials: INVALID_ARGUMENT (user name is empty); the serving user:
    PERMISSION_DENIED writing the pointer, a model or the audit head, and reading the
    audit head; the control-plane user: PERMISSION_DENIED outside its installation's
    prefix. The pointer is unchanged and the control plane still promotes."""
    with running_control_plane(etcd_server, tmp_path) as cp:
        endpoint, keys = etcd_server.endpoint, cp.keys
        before = cp.etcd_get(keys.pointer)
        assert before is not None

        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            asyncio.run(_put_anonymous(endpoint, keys.pointer, FORGED))
        assert anonymous.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "user name is empty" in str(anonymous.value.details())
        report("etcd authz", f"no credentials: refused, {anonymous.value.details()}")

        serving = etcd_server.credentials(SERVING_USER)
        for key in (keys.pointer, keys.model("sv-forged"), keys.audit_head):
            with pytest.raises(EtcdPermissionDeniedError):
                asyncio.run(_put_as(serving, endpoint, key, FORGED))
        with pytest.raises(EtcdPermissionDeniedError):
            asyncio.run(_get_as(serving, endpoint, keys.audit_head))
        asyncio.run(_get_as(serving, endpoint, keys.pointer))
        report("etcd authz", "serving user: 3 of 3 writes and the audit read refused")

        control_plane = etcd_server.credentials(CONTROL_PLANE_USER)
        with pytest.raises(EtcdPermissionDeniedError):
            asyncio.run(_put_as(control_plane, endpoint, "/elsewhere/serving/pointer", FORGED))

        assert cp.etcd_get(keys.pointer) == before
        experiment = cp.approved_experiment(cp.challenger_a)
        promoted = cp.promote(experiment.experiment_id)
        assert cp.pointer().serving_version == promoted.pointer.serving_version


def test_only_recmesh_users_exist_and_their_passwords_are_private(etcd_server: LocalEtcd) -> None:
    """etcd holds exactly root, recmesh-control-plane and recmesh-serving; each password
    file is mode 0600 in a directory of mode 0700."""

    async def users() -> list[str]:
        session = EtcdSession(
            [etcd_server.endpoint], credentials=etcd_server.credentials(ROOT_USER)
        )
        await session.open()
        try:
            response = await session.call(lambda c: _auth(c).user_list(timeout=3))
            return sorted(response.users)
        finally:
            await session.close()

    assert asyncio.run(users()) == sorted(USERS)
    passwords = etcd_server.passwords
    assert passwords is not None
    assert stat.S_IMODE(passwords.directory.stat().st_mode) == 0o700
    for user in USERS:
        assert stat.S_IMODE(passwords.path(user).stat().st_mode) == 0o600


def _auth(client: Etcd3Client) -> AuthService:
    assert client.auth is not None
    return client.auth


def test_store_logs_in_again_after_etcd_restarts(etcd_server: LocalEtcd) -> None:
    """etcd forgets every token when it restarts; the control plane's store, connected
    before, reads and writes again afterwards as its user without reconnecting."""

    async def scenario() -> bytes:
        kv = EtcdKV([etcd_server.endpoint], credentials=etcd_server.credentials(CONTROL_PLANE_USER))
        await kv.connect()
        try:
            await kv.commit([], [Put("/recmesh/v1/relogin", b"before")])
            await asyncio.to_thread(etcd_server.stop)
            await asyncio.to_thread(etcd_server.start)
            await _until_answers(kv)
            await kv.commit([], [Put("/recmesh/v1/relogin", b"after")])
            return (await kv.get("/recmesh/v1/relogin")).value
        finally:
            await kv.close()

    assert asyncio.run(scenario()) == b"after"


async def _until_answers(kv: EtcdKV) -> None:
    for _ in range(50):
        try:
            await kv.find("/recmesh/v1/relogin")
            return
        except StoreUnavailableError:
            await asyncio.sleep(0.2)
    await kv.find("/recmesh/v1/relogin")
