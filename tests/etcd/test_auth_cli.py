"""`python -m recmesh.etcd.auth_cli` (the Kubernetes Job recmesh-etcd-auth): turns auth
on with recmesh's users, again harmlessly, and refuses access recmesh did not grant."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from recmesh.etcd.auth_cli import main
from recmesh.etcd.client import etcd_client
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.password_files import EtcdPasswordFiles, ensure_password_files
from recmesh.etcd.users import ROOT_USER, SERVING_USER


async def _login_and_add(endpoint: str, passwords: EtcdPasswordFiles, user: str | None) -> None:
    """Logs in as root (fails while auth is off) and adds `user` when given."""
    client = etcd_client([endpoint], None)
    await client.connect()
    try:
        assert client.auth is not None
        root = passwords.credentials(ROOT_USER)
        client.set_token(str((await client.auth.authenticate(root.user, root.password)).token))
        serving = passwords.credentials(SERVING_USER)
        await client.auth.authenticate(serving.user, serving.password)
        if user is not None:
            await client.auth.user_add(user, "pw")
    finally:
        await client.close()


def test_auth_on_idempotent_and_foreign_access_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On an etcd with auth off it creates the users and turns auth on (root and serving
    log in with their files' passwords), exit 0; run again, exit 0; with a user recmesh
    did not make, exit 1 naming it."""
    if shutil.which("etcd") is None:
        pytest.fail("etcd is not installed; run `make setup` (it installs etcd-server)")
    server = LocalEtcd(data_dir=tmp_path / "data")
    server.start()
    try:
        passwords = ensure_password_files(tmp_path / "credentials")
        argv = ["--etcd", server.endpoint, "--passwords", str(passwords.directory)]
        assert main(argv) == 0
        asyncio.run(_login_and_add(server.endpoint, passwords, None))
        assert main(argv) == 0
        asyncio.run(_login_and_add(server.endpoint, passwords, "mallory"))
        capsys.readouterr()
        assert main(argv) == 1
        assert "user mallory" in capsys.readouterr().err
    finally:
        server.stop()
