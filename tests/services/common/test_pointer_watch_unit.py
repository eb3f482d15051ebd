"""PointerWatch's own logic against a scripted fake etcd session (no etcd process):
the read at start and the watch from the next revision, each revision delivered once
and in order, older revisions reported and dropped, refused records and deletions,
a failed save offered again after a reconnect, reconnects with capped backoff that
resets after a clean end, and read_current's fallbacks to the trusted record.

The real PointerTrust decides (records are signed with a test key); the etcd session
(`pointer_watch.EtcdSession`) and the loop's sleep are replaced. The behaviour against
a real etcd (re-login, a restored etcd) is in test_pointer_watch.py."""

from __future__ import annotations

import asyncio
import errno
import types
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from etcd3aio import EtcdError
from etcd3aio._protobuf import RangeResponse, WatchResponse
from structlog.testing import capture_logs

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.pointer_codec import encode_pointer
from recmesh.rpc.tls import TlsFiles
from services.common import pointer_watch
from services.common.pointer_state import AcceptedRecord, PointerStateFile
from services.common.pointer_trust import PointerTrust
from services.common.pointer_watch import PointerWatch
from tests.pointer_signing import PointerKey

SHA = "cd" * 32
ENDPOINTS = ["http://etcd-a:2379", "http://etcd-b:2379"]
CREDENTIALS = EtcdCredentials("serving", "secret")
KEY = PointerKey.generate()
OTHER_KEY = PointerKey.generate()


def _record(version: str, sequence: int, key: PointerKey = KEY) -> bytes:
    return encode_pointer(key.signed(version, SHA, sequence=sequence))


def _read(header_revision: int, value: bytes | None = None, mod_revision: int = 0) -> Any:
    """etcd's answer to a get of the pointer key (no value: the key does not exist)."""
    kvs = [] if value is None else [{"value": value, "mod_revision": mod_revision}]
    return RangeResponse(header={"revision": header_revision}, kvs=kvs)


def _events(*changes: tuple[bytes, int]) -> Any:
    """One watch response with a put (or, for b"", a delete) per (value, revision)."""
    return WatchResponse(events=[{"kv": {"value": v, "mod_revision": r}} for v, r in changes])


def _canceled(reason: str) -> Any:
    return WatchResponse(canceled=True, cancel_reason=reason)


def _unavailable() -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(),
        details="etcd member gone",
        debug_error_string=None,
    )


class _FakeEtcd:
    """Scripted answers for the sessions PointerWatch opens, consumed in order.

    `open_errors`: raised by the next session opens. `reads`: one per get (a
    RangeResponse, or an exception to raise). `streams`: one per watch, each a list of
    WatchResponses (or an exception to raise there); a stream's end ends the watch.
    Past the script a get or a watch blocks and `idle` is set: the test has seen it all.
    """

    def __init__(self) -> None:
        self.open_errors: list[BaseException] = []
        self.reads: list[Any] = []
        self.streams: list[list[Any]] = []
        self.sessions: list[_FakeSession] = []
        self.gets: list[tuple[str, float]] = []
        self.watches: list[tuple[str, int]] = []
        self.idle = asyncio.Event()

    async def get(self, key: str, timeout: float) -> Any:  # noqa: ASYNC109 - etcd3aio's signature
        self.gets.append((key, timeout))
        if not self.reads:
            await self._block()
        answer = self.reads.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def watch(self, key: str, start_revision: int = 0) -> Any:
        self.watches.append((key, start_revision))
        if not self.streams:
            await self._block()
        for item in self.streams.pop(0):
            if isinstance(item, BaseException):
                raise item
            yield item

    async def _block(self) -> None:
        self.idle.set()
        await asyncio.Event().wait()


class _FakeSession:
    """What PointerWatch uses of EtcdSession: open, login, call, client.kv/.watch, close."""

    def __init__(
        self,
        etcd: _FakeEtcd,
        endpoints: Sequence[str],
        tls: TlsFiles | None,
        credentials: EtcdCredentials | None,
    ) -> None:
        self.etcd = etcd
        self.endpoints = list(endpoints)
        self.tls = tls
        self.credentials = credentials
        self.opened = self.logged_in = self.closed = False
        self.client = types.SimpleNamespace(
            kv=types.SimpleNamespace(get=etcd.get), watch=types.SimpleNamespace(watch=etcd.watch)
        )

    async def open(self) -> None:
        self.opened = True
        if self.etcd.open_errors:
            raise self.etcd.open_errors.pop(0)

    async def login(self) -> None:
        self.logged_in = True

    async def call(self, operation: Callable[[Any], Awaitable[Any]]) -> Any:
        assert self.opened
        assert not self.closed
        return await operation(self.client)

    async def close(self) -> None:
        self.closed = True


class _Events:
    """PointerTrustEvents that keep what they were told."""

    def __init__(self) -> None:
        self.sequences: list[int] = []
        self.refusals: list[str] = []
        self.saves_failed = 0
        self.regressions: list[str] = []

    def accepted(self, sequence: int) -> None:
        self.sequences.append(sequence)

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
    """The callback: keeps each version handed to it and the watch's last_revision then."""

    def __init__(self) -> None:
        self.versions: list[str] = []
        self.last_revisions: list[int] = []
        self.watch: PointerWatch | None = None

    async def __call__(self, pointer: records_pb2.ServingPointer) -> None:
        self.versions.append(pointer.serving_version)
        assert self.watch is not None
        self.last_revisions.append(self.watch.last_revision)


class _Setup:
    """A PointerWatch on a fake etcd, its trust (state file in tmp_path) and recorders."""

    def __init__(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_backoff: float = 2.0
    ) -> None:
        self.etcd = _FakeEtcd()
        self.events = _Events()
        self.state = _FullDisk(tmp_path / "ranking.pointer.json")
        self.trust = PointerTrust("ranking", KEY.ring, self.state, self.events)
        self.followed = _Followed()
        self.sleeps: list[float] = []

        def session(
            endpoints: Sequence[str],
            *,
            tls: TlsFiles | None = None,
            credentials: EtcdCredentials | None = None,
        ) -> _FakeSession:
            made = _FakeSession(self.etcd, endpoints, tls, credentials)
            self.etcd.sessions.append(made)
            return made

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            await asyncio.sleep(0)

        monkeypatch.setattr(pointer_watch, "EtcdSession", session)
        # Only the module's own name: the loop's backoff sleeps are recorded, not waited.
        monkeypatch.setattr(
            pointer_watch,
            "asyncio",
            types.SimpleNamespace(sleep=sleep, CancelledError=asyncio.CancelledError),
        )
        self.watch = PointerWatch(
            ENDPOINTS,
            KeySchema(),
            self.followed,
            max_backoff=max_backoff,
            trust=self.trust,
            credentials=CREDENTIALS,
        )
        self.followed.watch = self.watch
        # The revisions offered to the trust, in order (it still decides).
        self.offered: list[int] = []
        admit = self.trust.admit

        def offered(value: bytes, mod_revision: int) -> records_pb2.ServingPointer | None:
            self.offered.append(mod_revision)
            return admit(value, mod_revision)

        monkeypatch.setattr(self.trust, "admit", offered)

    async def run_until_idle(self) -> None:
        """Runs the watch until the fake etcd's script is used up, then stops it."""
        task = asyncio.create_task(self.watch.run())
        idle = asyncio.create_task(self.etcd.idle.wait())
        both: set[asyncio.Task[Any]] = {task, idle}
        try:
            done, _ = await asyncio.wait(both, timeout=3.0, return_when=asyncio.FIRST_COMPLETED)
            assert done, "the watch neither finished nor used up the script"
            if task in done:
                task.result()  # raises what ended run()
                raise AssertionError("run() returned")
        finally:
            idle.cancel()
            task.cancel()
            await asyncio.gather(task, idle, return_exceptions=True)


POINTER = KeySchema().pointer


def test_start_reads_the_pointer_then_follows_the_watch_from_the_next_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The value read at start is delivered first, then the watch (started at the read's
    header revision + 1) delivers each change in revision order; one session, opened with
    the watch's endpoints and credentials and logged in, serves both."""
    s = _Setup(tmp_path, monkeypatch)
    s.etcd.reads = [_read(10, _record("sv-a", 1), mod_revision=7)]
    s.etcd.streams = [
        [_events((_record("sv-b", 2), 11)), _events((_record("sv-c", 3), 12))],
    ]

    asyncio.run(s.run_until_idle())

    assert s.followed.versions == ["sv-a", "sv-b", "sv-c"]
    assert s.followed.last_revisions == [0, 7, 11]  # each handed over before it counts
    assert s.offered == [7, 11, 12]
    assert s.etcd.gets[0] == (POINTER, 2.0)
    assert s.etcd.watches[0] == (POINTER, 11)
    assert s.watch.last_revision == 12
    assert s.trust.high_water == 3
    assert s.events.sequences == [1, 2, 3]
    [session] = s.etcd.sessions
    assert session.endpoints == ENDPOINTS
    assert session.credentials == CREDENTIALS
    assert session.logged_in
    assert not session.closed  # cancelling run() leaves it to close()
    asyncio.run(s.watch.close())
    assert session.closed
    assert s.sleeps == []


def test_an_empty_key_at_start_delivers_nothing_until_the_watch_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No pointer in etcd yet: nothing is delivered at start, the watch starts at the
    header revision + 1 and its first put is followed."""
    s = _Setup(tmp_path, monkeypatch)
    s.etcd.reads = [_read(4)]
    s.etcd.streams = [[_events((_record("sv-a", 1), 5))]]

    asyncio.run(s.run_until_idle())

    assert s.followed.versions == ["sv-a"]
    assert s.etcd.watches[0] == (POINTER, 5)
    assert s.watch.last_revision == 5


def test_a_revision_is_delivered_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A revision seen again (the watch repeating the read's revision, an event twice, the
    re-read after the stream ended cleanly) is not delivered again. A clean end re-reads
    at once on the same session, without a backoff sleep."""
    s = _Setup(tmp_path, monkeypatch)
    a, b = _record("sv-a", 1), _record("sv-b", 2)
    s.etcd.reads = [_read(7, a, mod_revision=7), _read(8, b, mod_revision=8)]
    s.etcd.streams = [
        [_events((a, 7)), _events((b, 8), (b, 8))],  # ends cleanly
        [_events((b, 8))],
    ]

    asyncio.run(s.run_until_idle())

    assert s.followed.versions == ["sv-a", "sv-b"]
    assert s.offered == [7, 8]
    assert s.events.sequences == [1, 2]
    assert [start for _, start in s.etcd.watches] == [8, 9]
    assert len(s.etcd.gets) == 3
    assert len(s.etcd.sessions) == 1
    assert s.sleeps == []
    assert s.watch.last_revision == 8


def test_an_older_revision_is_reported_and_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value at a revision below the last delivered one is logged
    (pointer_revision_regressed, stage watch) and counted, and never offered to the trust
    even though its record is newer; later revisions are followed as before."""
    s = _Setup(tmp_path, monkeypatch)
    s.etcd.reads = [_read(12, _record("sv-a", 1), mod_revision=12)]
    s.etcd.streams = [
        [_events((_record("sv-old", 5), 9)), _events((_record("sv-b", 6), 13))],
    ]

    with capture_logs() as logs:
        asyncio.run(s.run_until_idle())

    assert s.followed.versions == ["sv-a", "sv-b"]
    assert s.events.regressions == ["watch"]
    assert s.offered == [12, 13]
    assert s.events.sequences == [1, 6]
    regressed = [e for e in logs if e["event"] == "pointer_revision_regressed"]
    assert len(regressed) == 1
    assert regressed[0]["revision"] == 9
    assert regressed[0]["seen_revision"] == 12
    assert regressed[0]["stage"] == "watch"
    assert s.watch.last_revision == 13


def test_a_refused_record_is_settled_and_a_deletion_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record signed by an unknown key is refused and not followed, but its revision
    counts as delivered: read again after a reconnect it is not offered to the trust
    again. A deletion (empty value) is skipped without moving the revision; a later
    signed record is followed."""
    s = _Setup(tmp_path, monkeypatch)
    forged = _record("sv-forged", 9, key=OTHER_KEY)
    s.etcd.reads = [_read(3, forged, mod_revision=3), _read(4, forged, mod_revision=3)]
    s.etcd.streams = [
        [_events((b"", 4)), _canceled("etcd restarted")],
        [_events((_record("sv-a", 1), 5))],
    ]

    asyncio.run(s.run_until_idle())

    assert s.followed.versions == ["sv-a"]
    assert s.followed.last_revisions == [3]
    assert s.offered == [3, 5]
    assert s.events.refusals == ["unknown_key"]
    assert [start for _, start in s.etcd.watches] == [4, 5]
    assert s.watch.last_revision == 5
    assert s.trust.high_water == 1


def test_a_record_whose_save_failed_at_start_is_delivered_after_the_reconnect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The save of the record read at start fails: the revision stays undelivered, the
    loop logs pointer_watch_save_retry, closes the session, sleeps and reads again on a
    new session, and the record is followed once the save succeeds."""
    s = _Setup(tmp_path, monkeypatch)
    a = _record("sv-a", 1)
    s.state.failures = 1
    s.etcd.reads = [_read(7, a, mod_revision=7), _read(7, a, mod_revision=7)]

    with capture_logs() as logs:
        asyncio.run(s.run_until_idle())

    assert s.followed.versions == ["sv-a"]
    assert s.events.saves_failed == 1
    assert s.events.sequences == [1]
    assert s.offered == [7, 7]
    assert s.watch.last_revision == 7
    assert [e["event"] for e in logs if e["event"].startswith("pointer_watch_")] == [
        "pointer_watch_save_retry"
    ]
    first, second = s.etcd.sessions
    assert first.closed
    assert not second.closed
    assert s.sleeps == [0.1]
    assert s.etcd.watches == [(POINTER, 8)]  # the failed attempt never watched


def test_a_broken_watch_reconnects_with_capped_backoff_that_resets_after_a_clean_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An open that fails, a read that fails, a watch etcd cancels and a stream broken
    by UNAVAILABLE each close the session, log pointer_watch_disconnected and sleep twice
    as long as before up to max_backoff; a stream that ends cleanly resets the backoff.
    The re-read after each reconnect picks up a change made during the outage."""
    s = _Setup(tmp_path, monkeypatch, max_backoff=0.25)
    s.etcd.open_errors = [OSError(errno.ECONNREFUSED, "connection refused")]
    s.etcd.reads = [
        EtcdError("etcd unavailable"),
        _read(5, _record("sv-a", 1), mod_revision=5),
        _read(5, _record("sv-a", 1), mod_revision=5),
        _read(9, _record("sv-b", 3), mod_revision=9),  # set while the watch was down
        _read(9, _record("sv-b", 3), mod_revision=9),
        _read(11, _record("sv-c", 4), mod_revision=11),
    ]
    s.etcd.streams = [
        [_canceled("permission denied")],
        [_events((_record("sv-a2", 2), 6)), _unavailable()],
        [],  # ends cleanly
        [_unavailable()],
    ]

    with capture_logs() as logs:
        asyncio.run(s.run_until_idle())

    assert s.followed.versions == ["sv-a", "sv-a2", "sv-b", "sv-c"]
    assert s.offered == [5, 6, 9, 11]
    assert s.sleeps == [0.1, 0.2, 0.25, 0.25, 0.1]
    disconnected = [e for e in logs if e["event"] == "pointer_watch_disconnected"]
    assert [e["retry_in_s"] for e in disconnected] == s.sleeps
    assert "connection refused" in disconnected[0]["error"]
    assert "etcd unavailable" in disconnected[1]["error"]
    assert "permission denied" in disconnected[2]["error"]
    assert "etcd member gone" in disconnected[3]["error"]
    assert len(s.etcd.sessions) == 6
    assert [x.closed for x in s.etcd.sessions] == [True] * 5 + [False]
    assert [start for _, start in s.etcd.watches] == [6, 6, 10, 10, 12]
    assert s.watch.last_revision == 11


def test_reachability_is_reported_on_each_read_and_each_lost_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """on_reachability (recmesh_etcd_reachable) is told False when an open, a read or a
    watch fails, and True each time the pointer was read again, not before."""
    s = _Setup(tmp_path, monkeypatch)
    told: list[bool] = []
    s.watch = PointerWatch(
        ENDPOINTS, KeySchema(), s.followed, trust=s.trust, on_reachability=told.append
    )
    s.followed.watch = s.watch
    s.etcd.open_errors = [OSError(errno.ECONNREFUSED, "connection refused")]
    s.etcd.reads = [
        EtcdError("etcd unavailable"),
        _read(5, _record("sv-a", 1), mod_revision=5),
        _read(9, _record("sv-b", 3), mod_revision=9),
    ]
    s.etcd.streams = [[_unavailable()], []]

    asyncio.run(s.run_until_idle())

    assert told == [False, False, True, False, True]
    assert s.followed.versions == ["sv-a", "sv-b"]


def test_an_error_that_is_not_etcd_or_the_network_ends_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only etcd, gRPC and OS errors (and failed saves) are retried: another exception
    from a read ends run() with it, without a backoff sleep."""
    s = _Setup(tmp_path, monkeypatch)
    s.etcd.reads = [ValueError("not a range response")]

    with pytest.raises(ValueError, match="not a range response"):
        asyncio.run(s.run_until_idle())
    assert s.sleeps == []


def test_a_callback_failure_ends_run_and_leaves_the_revision_undelivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The callback's own exception is not swallowed by the loop, and the revision it was
    handed is not marked delivered."""
    s = _Setup(tmp_path, monkeypatch)

    async def failing(pointer: records_pb2.ServingPointer) -> None:
        raise RuntimeError(f"cannot load {pointer.serving_version}")

    s.watch = PointerWatch(ENDPOINTS, KeySchema(), failing, trust=s.trust)
    s.etcd.reads = [_read(3, _record("sv-a", 1), mod_revision=3)]

    with pytest.raises(RuntimeError, match="cannot load sv-a"):
        asyncio.run(s.run_until_idle())
    assert s.watch.last_revision == 0
    assert s.etcd.sessions[0].credentials is None


def test_read_current_returns_the_trusted_record_or_the_last_one_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """read_current: no key gives the record restored from the state file; a replayed
    record is refused and the restored one returned; a newer signed record is admitted
    and returned. One session serves every read, and none moves last_revision (the
    watch still delivers what read_current admitted)."""
    restored_record = _record("sv-restored", 5)
    PointerStateFile(tmp_path / "ranking.pointer.json").save(AcceptedRecord(restored_record, 5, 40))
    s = _Setup(tmp_path, monkeypatch)
    assert s.trust.current is not None
    s.etcd.reads = [
        _read(50),
        _read(51, _record("sv-old", 4), mod_revision=51),
        _read(52, _record("sv-new", 6), mod_revision=52),
        _read(52, _record("sv-new", 6), mod_revision=52),
    ]

    async def main() -> list[str | None]:
        seen = []
        for _ in range(3):
            pointer = await s.watch.read_current()
            seen.append(None if pointer is None else pointer.serving_version)
        assert s.watch.last_revision == 0
        await s.run_until_idle()
        return seen

    assert asyncio.run(main()) == ["sv-restored", "sv-restored", "sv-new"]
    assert s.events.refusals == ["replayed"]
    assert s.events.sequences == [6]
    assert s.offered == [51, 52, 52]
    assert len(s.etcd.sessions) == 1
    assert s.followed.versions == ["sv-new"]
    assert s.watch.last_revision == 52


def test_read_current_with_a_failed_save_returns_the_previous_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the new record's save fails read_current does not raise: it returns what was
    trusted before (None for a process that trusted nothing yet) and the next read
    admits the record."""
    s = _Setup(tmp_path, monkeypatch)
    s.state.failures = 1
    a = _record("sv-a", 1)
    s.etcd.reads = [_read(3, a, mod_revision=3), _read(3, a, mod_revision=3)]

    async def main() -> tuple[object, object]:
        first = await s.watch.read_current()
        second = await s.watch.read_current()
        return first, None if second is None else second.serving_version

    assert asyncio.run(main()) == (None, "sv-a")
    assert s.events.saves_failed == 1
    assert s.trust.high_water == 1


def test_read_current_raises_etcd_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An etcd error is the caller's to handle (no fallback to the trusted record)."""
    s = _Setup(tmp_path, monkeypatch)
    s.etcd.reads = [EtcdError("etcd unavailable")]

    with pytest.raises(EtcdError, match="etcd unavailable"):
        asyncio.run(s.watch.read_current())
