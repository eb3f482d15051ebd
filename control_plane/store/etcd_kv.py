"""The control plane's whole use of etcd: consistent reads, guarded commits, one watch.

Every read of several keys is one etcd transaction without compares, so all
its values come from one revision. Every write is one guarded transaction
(`commit`), never retried blindly: a transaction that may or may not have been
applied is reported as StoreUnavailableError, and callers re-read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from etcd3aio import Etcd3Client, EtcdError
from etcd3aio._protobuf import Compare, RangeRequest, RequestOp
from etcd3aio.kv import KVService, prefix_range_end

from control_plane.store.errors import ConflictError, KeyNotFoundError, StoreUnavailableError
from control_plane.store.kv_types import Reading, StoredValue
from control_plane.store.txn import Guard, KeyAbsent, KeyAt, NothingCreatedAfter, Put
from recmesh.etcd.client import etcd_client
from recmesh.rpc.tls import TlsFiles

# mvccpb.Event.EventType.PUT; DELETE events carry no value and are skipped.
_EVENT_PUT = 0


class EtcdKV:
    """Reads and guarded writes against one etcd cluster; errors are typed."""

    def __init__(
        self, endpoints: Sequence[str], *, timeout_s: float = 5.0, tls: TlsFiles | None = None
    ) -> None:
        if not endpoints:
            raise ValueError("at least one etcd endpoint is needed")
        self._endpoints = tuple(endpoints)
        self._timeout_s = timeout_s
        self._tls = tls
        self._client: Etcd3Client | None = None

    @property
    def endpoints(self) -> tuple[str, ...]:
        return self._endpoints

    async def connect(self) -> None:
        """Opens the channel (mutual TLS when tls was given); etcd itself is first
        contacted by the first call."""
        client = etcd_client(self._endpoints, self._tls)
        await client.connect()
        self._client = client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def read(self, keys: Sequence[str] = (), prefixes: Sequence[str] = ()) -> Reading:
        """Reads the keys and every key under each prefix at one revision."""
        ops = [KVService.txn_op_get(key) for key in keys]
        ops += [_range_op(prefix) for prefix in prefixes]
        response = await self._txn([], ops, [], action="reading", max_attempts=None)
        values: dict[str, StoredValue] = {}
        for key, op in zip(keys, response.responses, strict=False):
            found = _values(op)
            if found:
                values[key] = found[0]
        ranges = {
            prefix: _values(op)
            for prefix, op in zip(prefixes, response.responses[len(keys) :], strict=True)
        }
        return Reading(revision=int(response.header.revision), values=values, ranges=ranges)

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
        client = self._connected()
        assert client.kv is not None
        try:
            response = await client.kv.get(
                start or prefix,
                range_end=prefix_range_end(prefix),
                limit=limit,
                timeout=self._timeout_s,
            )
        except (EtcdError, TimeoutError) as exc:
            raise self._unavailable("reading", exc) from exc
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
        so an etcd restart pauses the stream rather than ending it.
        """
        client = self._connected()
        assert client.watch is not None
        try:
            async for response in client.watch.watch(key, start_revision=start_revision):
                for event in response.events:
                    if event.type == _EVENT_PUT:
                        yield _stored(event.kv)
        except EtcdError as exc:
            raise self._unavailable("watching", exc) from exc

    def _connected(self) -> Etcd3Client:
        if self._client is None:
            raise RuntimeError("EtcdKV.connect() was not called")
        return self._client

    async def _txn(
        self,
        compares: Sequence[Any],
        success: Sequence[Any],
        failure: Sequence[Any],
        *,
        action: str,
        max_attempts: int | None,
    ) -> Any:
        client = self._connected()
        assert client.kv is not None
        try:
            return await client.kv.txn(
                compares, success, failure, timeout=self._timeout_s, max_attempts=max_attempts
            )
        except (EtcdError, TimeoutError) as exc:
            raise self._unavailable(action, exc) from exc

    def _unavailable(self, action: str, exc: BaseException) -> StoreUnavailableError:
        detail = str(exc) or f"no answer within {self._timeout_s:g}s"
        where = ",".join(self._endpoints)
        if action == "writing":
            return StoreUnavailableError(
                f"etcd at {where} is unavailable while writing ({detail}); the change was "
                "not confirmed, read the state again before retrying"
            )
        return StoreUnavailableError(f"etcd at {where} is unavailable while {action} ({detail})")


def _range_op(prefix: str) -> Any:
    request = RangeRequest(key=prefix.encode(), range_end=prefix_range_end(prefix))
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
