"""Follows the serving pointer in etcd and hands every value it trusts to a callback.

Every value read (at start, from the watch, or by `read_current`) goes through the
process's `PointerTrust` first: an unsigned, badly signed or replayed record is
refused there and never reaches the callback.

Reads the current value, then watches from the next revision. etcd3aio's watch
re-watches from the last seen revision + 1 after a transient error; when etcd is
down for longer (or restarted), this loop reconnects with backoff and re-reads
the key, so a change made during an outage is picked up when etcd returns.

Every read goes through the session's re-login (recmesh/etcd/session.py): a
`read_current` after a quiet stretch longer than etcd's token TTL logs in again
instead of failing. A revision counts as delivered only once the trust has settled
it (its state file saved): when the save fails, the loop reconnects with backoff and
offers the record again. A value at an older revision than one delivered (etcd
restored from a backup) is logged and counted, not followed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
import structlog
from etcd3aio import Etcd3Client, EtcdError
from etcd3aio._protobuf import RangeResponse

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.session import EtcdSession, check_watch_response
from recmesh.rpc.tls import TlsFiles
from services.common.pointer_trust import PointerStateSaveError, PointerTrust

log = structlog.get_logger("recmesh.pointer_watch")

PointerCallback = Callable[[records_pb2.ServingPointer], Awaitable[None]]
#: Told True each time the watch has read the pointer from etcd, False each time it lost
#: etcd (an error reading or watching); feeds `recmesh_etcd_reachable`.
ReachabilityCallback = Callable[[bool], None]


def _ignore_reachability(reachable: bool) -> None:
    pass


class PointerWatch:
    """Calls `on_pointer` with each pointer value seen and trusted, in revision order."""

    def __init__(
        self,
        endpoints: list[str],
        keys: KeySchema,
        on_pointer: PointerCallback,
        max_backoff: float = 2.0,
        *,
        trust: PointerTrust,
        tls: TlsFiles | None = None,
        credentials: EtcdCredentials | None = None,
        on_reachability: ReachabilityCallback = _ignore_reachability,
    ) -> None:
        self._endpoints = endpoints
        self._on_reachability = on_reachability
        self._credentials = credentials
        self._session: EtcdSession | None = None
        self._trust = trust
        self._tls = tls
        self._keys = keys
        self._on_pointer = on_pointer
        self._max_backoff = max_backoff
        self._last_revision = 0

    @property
    def last_revision(self) -> int:
        return self._last_revision

    async def read_current(self) -> records_pb2.ServingPointer | None:
        """The pointer as etcd has it now when it is trusted, else the last record this
        process trusted (None when there is none); raises on etcd errors."""
        session = await self._connected()
        key = self._keys.pointer
        response = await session.call(lambda client: _get(client, key))
        if not response.kvs:
            return self._trust.current
        kv = response.kvs[0]
        try:
            admitted = self._trust.admit(bytes(kv.value), int(kv.mod_revision))
        except PointerStateSaveError:
            return self._trust.current  # logged and counted; the watch offers it again
        return admitted if admitted is not None else self._trust.current

    async def run(self) -> None:
        """Runs until cancelled."""
        backoff = 0.1
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except PointerStateSaveError as exc:
                log.warning("pointer_watch_save_retry", error=str(exc), retry_in_s=backoff)
            except (EtcdError, grpc.aio.AioRpcError, OSError) as exc:
                log.warning("pointer_watch_disconnected", error=str(exc), retry_in_s=backoff)
                self._on_reachability(False)
            else:
                backoff = 0.1
                continue
            await self._reset()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    async def close(self) -> None:
        await self._reset()

    async def _connected(self) -> EtcdSession:
        # A new session logs in afresh: a reconnect after etcd restarted (or forgot an
        # idle token) authenticates again. One that fails to log in is closed at once.
        if self._session is None:
            session = EtcdSession(self._endpoints, tls=self._tls, credentials=self._credentials)
            try:
                await session.open()
                await session.login()
            except BaseException:
                await session.close()
                raise
            self._session = session
        return self._session

    async def _reset(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _follow(self) -> None:
        session = await self._connected()
        key = self._keys.pointer
        response = await session.call(lambda client: _get(client, key))
        self._on_reachability(True)
        start = response.header.revision + 1
        if response.kvs:
            await self._deliver(bytes(response.kvs[0].value), response.kvs[0].mod_revision)
        watch = session.client.watch
        assert watch is not None
        async for event_batch in watch.watch(key, start_revision=start):
            check_watch_response(event_batch)
            for event in event_batch.events:
                if event.kv.value:
                    await self._deliver(bytes(event.kv.value), event.kv.mod_revision)

    async def _deliver(self, value: bytes, mod_revision: int) -> None:
        """Raises PointerStateSaveError when the trust could not save the record: the
        revision then stays undelivered, and the reconnect offers it again."""
        if mod_revision < self._last_revision:
            self._trust.note_revision_regressed("watch", mod_revision, self._last_revision)
            return
        if mod_revision == self._last_revision:
            return
        pointer = self._trust.admit(value, mod_revision)
        if pointer is not None:
            await self._on_pointer(pointer)
        self._last_revision = mod_revision


async def _get(client: Etcd3Client, key: str) -> RangeResponse:
    assert client.kv is not None
    return await client.kv.get(key, timeout=2.0)
