"""PointerWatch against a real etcd with auth on: reads through the session's re-login,
a revision is delivered only once its record is saved, older revisions are reported."""

from __future__ import annotations

import asyncio
import errno
import shutil
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from etcd3aio import Etcd3Client, EtcdConnectionError
from structlog.testing import capture_logs

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.auth_setup import secure_etcd_async
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.local_server import LocalEtcd
from recmesh.etcd.pointer_codec import encode_pointer
from recmesh.etcd.session import EtcdSession
from recmesh.etcd.users import ROOT_USER, SERVING_USER
from services.common import pointer_watch
from services.common.pointer_state import AcceptedRecord, PointerStateFile
from services.common.pointer_trust import PointerTrust
from services.common.pointer_watch import PointerWatch
from tests.mesh_harness import put_pointer_value
from tests.pointer_signing import PointerKey

SHA = "ab" * 32


class _Events:
    def __init__(self) -> None:
        self.refusals: list[str] = []
        self.saves_failed = 0
        self.regressions: list[str] = []

    def accepted(self, sequence: int) -> None:
        pass

    def refused(self, reason: str) -> None:
        self.refusals.append(reason)

    def save_failed(self) -> None:
        self.saves_failed += 1

    def revision_regressed(self, stage: str) -> None:
        self.regressions.append(stage)


class _FullDisk(PointerStateFile):
    """A state file whose next `failures` saves fail as on a full disk."""

    def __init__(self, path: Path, failures: int = 0) -> None:
        super().__init__(path)
        self.failures = failures

    def save(self, record: AcceptedRecord) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        super().save(record)


class _Followed:
    def __init__(self) -> None:
        self.versions: list[str] = []

    async def __call__(self, pointer: records_pb2.ServingPointer) -> None:
        self.versions.append(pointer.serving_version)


def _watch(
    etcd: LocalEtcd,
    trust: PointerTrust,
    followed: _Followed | None = None,
    credentials: EtcdCredentials | None = None,
) -> PointerWatch:
    return PointerWatch(
        [etcd.endpoint],
        KeySchema(),
        followed or _Followed(),
        max_backoff=0.2,
        trust=trust,
        credentials=credentials or etcd.credentials(SERVING_USER),
    )


async def _put(etcd: LocalEtcd, key: PointerKey, version: str, sequence: int) -> int:
    value = encode_pointer(key.signed(version, SHA, sequence=sequence))
    return await put_pointer_value(etcd.endpoint, value, root=etcd.credentials(ROOT_USER))


async def _until(condition: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + 15.0
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def _secure_again(etcd: LocalEtcd) -> None:
    """Turns auth on in a fresh etcd, retrying while gRPC's channel to it is in its
    reconnect backoff."""
    assert etcd.passwords is not None
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        try:
            await secure_etcd_async([etcd.endpoint], etcd.passwords)
            return
        except EtcdConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


def test_read_current_logs_in_again_after_etcd_forgot_the_token(
    etcd_server: LocalEtcd, tmp_path: Path
) -> None:
    """After etcd restarts (it forgets every token, as after a quiet TTL), read_current
    authenticates again and returns the new record instead of failing."""
    key = PointerKey.generate()
    trust = PointerTrust("ranking", key.ring, PointerStateFile(tmp_path / "s.json"), _Events())

    async def main() -> None:
        watch = _watch(etcd_server, trust)
        await _put(etcd_server, key, "sv-a", 1)
        first = await watch.read_current()
        assert first is not None
        assert first.serving_version == "sv-a"
        etcd_server.stop()
        etcd_server.start()
        await _put(etcd_server, key, "sv-b", 2)
        try:
            after = await watch.read_current()
        finally:
            await watch.close()
        assert after is not None
        assert after.serving_version == "sv-b"

    asyncio.run(main())


def test_a_failed_login_leaves_no_session_open(
    etcd_server: LocalEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong password fails read_current (etcd's INVALID_ARGUMENT), and the session it
    opened is closed at once."""
    sessions: list[_Tracked] = []

    class _Tracked(EtcdSession):
        closed = False

        async def close(self) -> None:
            self.closed = True
            await super().close()

        async def open(self) -> Etcd3Client:
            sessions.append(self)
            return await super().open()

    monkeypatch.setattr(pointer_watch, "EtcdSession", _Tracked)
    key = PointerKey.generate()
    trust = PointerTrust("ranking", key.ring, PointerStateFile(tmp_path / "s.json"), _Events())
    wrong = EtcdCredentials(SERVING_USER, "not-the-password")

    async def main() -> None:
        watch = _watch(etcd_server, trust, credentials=wrong)
        with pytest.raises(grpc.aio.AioRpcError, match="authentication failed"):
            await watch.read_current()
        assert [s.closed for s in sessions] == [True]

    asyncio.run(main())


def test_a_record_whose_save_failed_is_delivered_on_the_retry(
    etcd_server: LocalEtcd, tmp_path: Path
) -> None:
    """The first save of a new record fails (disk full): the revision is not marked
    delivered, the watch offers it again and follows it once the save succeeds."""
    key, events, followed = PointerKey.generate(), _Events(), _Followed()
    state = _FullDisk(tmp_path / "s.json")
    trust = PointerTrust("ranking", key.ring, state, events)

    async def main() -> None:
        revision = await _put(etcd_server, key, "sv-a", 1)
        watch = _watch(etcd_server, trust, followed)
        task = asyncio.create_task(watch.run())
        try:
            await _until(lambda: followed.versions == ["sv-a"])
            state.failures = 1
            revision = await _put(etcd_server, key, "sv-b", 2)
            await _until(lambda: followed.versions == ["sv-a", "sv-b"])
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await watch.close()
        assert events.saves_failed == 1
        assert watch.last_revision == revision
        assert trust.high_water == 2

    asyncio.run(main())


def test_an_older_revision_after_an_etcd_restore_is_logged_and_counted(
    etcd_server: LocalEtcd, tmp_path: Path
) -> None:
    """etcd comes back from an older state (its revisions start over) and the watch
    reconnects (its loop restarted, as after a long outage): the value at a revision
    below the one delivered is not followed, and is logged and counted."""
    key, events, followed = PointerKey.generate(), _Events(), _Followed()
    trust = PointerTrust("ranking", key.ring, PointerStateFile(tmp_path / "s.json"), events)

    async def main() -> None:
        for sequence in range(1, 6):
            await _put(etcd_server, key, f"sv-{sequence}", sequence)
        watch = _watch(etcd_server, trust, followed)
        task = asyncio.create_task(watch.run())
        try:
            await _until(lambda: followed.versions == ["sv-5"])
            high = watch.last_revision
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await watch.close()
            etcd_server.stop()
            shutil.rmtree(etcd_server.data_dir)
            etcd_server.start()
            await _secure_again(etcd_server)
            low = await _put(etcd_server, key, "sv-6", 6)
            assert low < high
            with capture_logs() as logs:
                task = asyncio.create_task(watch.run())
                await _until(lambda: events.regressions == ["watch"])
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await watch.close()
        regressed = [e for e in logs if e["event"] == "pointer_revision_regressed"]
        assert regressed[0]["revision"] == low
        assert regressed[0]["seen_revision"] == high
        assert followed.versions == ["sv-5"]

    asyncio.run(main())
