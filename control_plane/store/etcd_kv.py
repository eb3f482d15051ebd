"""The control plane's whole use of etcd: consistent reads, guarded commits, one watch.

Every read of several keys is one etcd transaction without compares, so all
its values come from one revision. Every write is one guarded transaction
(`commit`), never retried blindly: a transaction that may or may not have been
applied is reported as StoreUnavailableError, and callers re-read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
from etcd3aio import Etcd3Client, EtcdError
from etcd3aio._protobuf import Compare, RangeRequest, RequestOp
from etcd3aio.kv import KVService, prefix_range_end

from control_plane.store.errors import ConflictError, KeyNotFoundError, StoreUnavailableError
from control_plane.store.kv_types import Reading, StoredValue
from control_plane.store.txn import Guard, KeyAbsent, KeyAt, NothingCreatedAfter, Put
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.session import EtcdSession, check_watch_response, is_token_rejection
from recmesh.rpc.tls import TlsFiles

#: etcd's answer to a call that carries no token and no client certificate it maps.
_NO_USER = "user name is empty"
# mvccpb.Event.EventType.PUT; DELETE events carry no value and are skipped.
_EVENT_PUT = 0


class EtcdKV:
    """Reads and guarded writes against one etcd cluster; errors are typed.

    With credentials every call is made as that etcd user (logging in again when etcd
    forgets the token, see recmesh/etcd/session.py); with mutual TLS and no
    credentials, as the user named by the certificate's CN."""

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        timeout_s: float = 5.0,
        tls: TlsFiles | None = None,
        credentials: EtcdCredentials | None = None,
    ) -> None:
        if not endpoints:
            raise ValueError("at least one etcd endpoint is needed")
        self._endpoints = tuple(endpoints)
        self._timeout_s = timeout_s
        self._tls = tls
        self._credentials = credentials
        self._session: EtcdSession | None = None

    @property
    def endpoints(self) -> tuple[str, ...]:
        return self._endpoints

    async def connect(self) -> None:
        """Opens the channel (mutual TLS when tls was given); etcd itself is first
        contacted by the first call."""
        session = EtcdSession(
            self._endpoints,
            tls=self._tls,
            credentials=self._credentials,
            timeout_s=self._timeout_s,
        )
        await session.open()
        self._session = session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def read(
        self,
        keys: Sequence[str] = (),
        prefixes: Sequence[str] = (),
        *,
        last_of: Sequence[str] = (),
        last_count: int = 1,
    ) -> Reading:
        """Reads the keys, every key under each of `prefixes`, and the last `last_count`
        keys under each of `last_of` (newest key first), at one revision."""
        ops = [KVService.txn_op_get(key) for key in keys]
        ops += [_range_op(prefix) for prefix in prefixes]
        ops += [_range_op(prefix, last=last_count) for prefix in last_of]
        response = await self._txn([], ops, [], action="reading", max_attempts=None)
        values: dict[str, StoredValue] = {}
        for key, op in zip(keys, response.responses, strict=False):
            found = _values(op)
            if found:
                values[key] = found[0]
        ranges = {
            prefix: _values(op)
            for prefix, op in zip(
                prefixes, response.responses[len(keys) : len(keys) + len(prefixes)], strict=True
            )
        }
        lasts = {
            prefix: _values(op)
            for prefix, op in zip(
                last_of, response.responses[len(keys) + len(prefixes) :], strict=True
            )
        }
        return Reading(
            revision=int(response.header.revision), values=values, ranges=ranges, lasts=lasts
        )

    async def find(self, key: str) -> StoredValue | None:
        """The key's current value, or None when it does not exist."""
        return (await self.read(keys=[key])).find(key)

    async def get(self, key: str) -> StoredValue:
        found = await self.find(key)
        if found is None:
            raise KeyNotFoundError(key)
        return found

    async def list(self, prefix: str) -> tuple[StoredValue, ...]:
        """Every key under prefix, in key order."""
        return (await self.read(prefixes=[prefix])).under(prefix)

    async def scan(
        self, prefix: str, *, start: str | None = None, limit: int = 0
    ) -> tuple[StoredValue, ...]:
        """Keys under prefix from `start` (inclusive; default the prefix) in key order,
        at most `limit` of them (0: all)."""

        async def get(client: Etcd3Client) -> Any:
            assert client.kv is not None
            return await client.kv.get(
                start or prefix,
                range_end=prefix_range_end(prefix),
                limit=limit,
                timeout=self._timeout_s,
            )

        try:
            response = await self._connected().call(get)
        except (EtcdError, TimeoutError) as exc:
            raise self._unavailable("reading", exc) from exc
        except grpc.aio.AioRpcError as exc:
            if _NO_USER in (exc.details() or ""):
                raise self._unavailable("reading", exc) from exc
            raise
        return tuple(_stored(kv) for kv in response.kvs)

    async def commit(self, guards: Sequence[Guard], puts: Sequence[Put]) -> int:
        """Applies every put at one revision if every guard holds; returns that revision.

        Raises ConflictError naming the guards that did not hold (read at the
        revision the transaction was evaluated at), StoreUnavailableError when
        etcd does not answer.
        """
        compares = [_compare(guard) for guard in guards]
        success = [KVService.txn_op_put(put.key, put.value) for put in puts]
        failure = [_guard_read(guard) for guard in guards]
        response = await self._txn(compares, success, failure, action="writing", max_attempts=1)
        if response.succeeded:
            return int(response.header.revision)
        failed = [
            guard
            for guard, op in zip(guards, response.responses, strict=True)
            if not guard.holds(_values(op))
        ]
        raise ConflictError(failed or guards)

    async def watch(self, key: str, start_revision: int) -> AsyncIterator[StoredValue]:
        """Every value put at key from start_revision on; runs until the caller stops.

        etcd3aio re-watches from the last seen revision after transient errors,
        so an etcd restart pauses the stream rather than ending it; when etcd then
        cancels the watch because it forgot the token, this logs in again and watches
        on from the next revision.
        """
        session = self._connected()
        next_revision = start_revision
        try:
            await session.login()
            while True:
                client = session.client
                assert client.watch is not None
                try:
                    async for response in client.watch.watch(key, start_revision=next_revision):
                        check_watch_response(response)
                        for event in response.events:
                            if event.type == _EVENT_PUT:
                                next_revision = int(event.kv.mod_revision) + 1
                                yield _stored(event.kv)
                    return
                except EtcdError as exc:
                    if self._credentials is None or not is_token_rejection(exc):
                        raise
                await session.renew()
        except EtcdError as exc:
            raise self._unavailable("watching", exc) from exc

    def _connected(self) -> EtcdSession:
        if self._session is None:
            raise RuntimeError("EtcdKV.connect() was not called")
        return self._session

    async def _txn(
        self,
        compares: Sequence[Any],
        success: Sequence[Any],
        failure: Sequence[Any],
        *,
        action: str,
        max_attempts: int | None,
    ) -> Any:

        async def txn(client: Etcd3Client) -> Any:
            assert client.kv is not None
            return await client.kv.txn(
                compares, success, failure, timeout=self._timeout_s, max_attempts=max_attempts
            )

        try:
            # A transaction etcd refused for its token was not applied: the session runs
            # it again once after logging in again, writes included.
            return await self._connected().call(txn)
        except (EtcdError, TimeoutError) as exc:
            raise self._unavailable(action, exc) from exc
        except grpc.aio.AioRpcError as exc:
            if _NO_USER in (exc.details() or ""):
                raise self._unavailable(action, exc) from exc
            raise

    def _unavailable(self, action: str, exc: BaseException) -> StoreUnavailableError:
        detail = (
            str(exc.details()) if isinstance(exc, grpc.aio.AioRpcError) else str(exc)
        ) or f"no answer within {self._timeout_s:g}s"
        if _NO_USER in detail:
            detail += "; etcd requires auth: give an etcd user and password, or a certificate"
        where = ",".join(self._endpoints)
        if action == "writing":
            return StoreUnavailableError(
                f"etcd at {where} is unavailable while writing ({detail}); the change was "
                "not confirmed, read the state again before retrying"
            )
        return StoreUnavailableError(f"etcd at {where} is unavailable while {action} ({detail})")


def _range_op(prefix: str, *, last: int = 0) -> Any:
    """Every key under prefix in key order; with `last`, only the last `last` keys, the
    last one first."""
    request = RangeRequest(key=prefix.encode(), range_end=prefix_range_end(prefix))
    if last:
        request.sort_order = RangeRequest.DESCEND
        request.sort_target = RangeRequest.KEY
        request.limit = last
    return RequestOp(request_range=request)


def _compare(guard: Guard) -> Any:
    if isinstance(guard, KeyAbsent):
        return KVService.txn_compare_create_revision(guard.key, 0)
    if isinstance(guard, KeyAt):
        return Compare(
            result=Compare.EQUAL,
            target=Compare.MOD,
            key=guard.key.encode(),
            mod_revision=guard.mod_revision,
        )
    # Over a range, etcd requires every key to satisfy the compare (an empty range does).
    return Compare(
        result=Compare.LESS,
        target=Compare.CREATE,
        key=guard.key.encode(),
        range_end=prefix_range_end(guard.key),
        create_revision=guard.revision + 1,
    )


def _guard_read(guard: Guard) -> Any:
    if isinstance(guard, NothingCreatedAfter):
        return _range_op(guard.key)
    return KVService.txn_op_get(guard.key)


def _values(op: Any) -> tuple[StoredValue, ...]:
    return tuple(_stored(kv) for kv in op.response_range.kvs)


def _stored(kv: Any) -> StoredValue:
    return StoredValue(
        key=bytes(kv.key).decode(),
        value=bytes(kv.value),
        create_revision=int(kv.create_revision),
        mod_revision=int(kv.mod_revision),
    )
