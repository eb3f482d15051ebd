"""Writes the front's counts per arm to etcd about once a second (a background task).

Each pending stage's counts (services/recommend/arm_counter.py) are put at
`KeySchema.rollout_arm_counts(rollout_id, stage, front_id)`, the one prefix the
serving etcd user may write (recmesh/etcd/users.py). A failed put is logged and
left pending: the next tick writes the counts again, cumulative, so nothing is
lost and no answer ever waits for etcd. The control plane sums every front's key
of a stage (recmesh.rollout.arm_counts.sum_counts).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
import structlog
from etcd3aio import Etcd3Client, EtcdError

from recmesh.etcd.credentials import EtcdCredentials
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.session import EtcdSession
from recmesh.rpc.tls import TlsFiles
from services.recommend.arm_counter import ArmCounter

log = structlog.get_logger("recmesh.recommend.arm_counts")

#: Seconds between two writes of the counts.
WRITE_INTERVAL_S = 1.0

#: Puts one value at one key; raises on failure.
PutValue = Callable[[str, bytes], Awaitable[None]]


class EtcdPut:
    """Puts values into etcd as the serving user, over a session opened on first use
    and reopened after a failure."""

    def __init__(
        self,
        endpoints: list[str],
        *,
        tls: TlsFiles | None = None,
        credentials: EtcdCredentials | None = None,
        timeout_s: float = 2.0,
    ) -> None:
        self._endpoints = endpoints
        self._tls = tls
        self._credentials = credentials
        self._timeout_s = timeout_s
        self._session: EtcdSession | None = None

    async def __call__(self, key: str, value: bytes) -> None:
        try:
            session = await self._connected()

            async def put(client: Etcd3Client) -> None:
                assert client.kv is not None
                await client.kv.put(key, value, timeout=self._timeout_s)

            await session.call(put)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _connected(self) -> EtcdSession:
        if self._session is None:
            session = EtcdSession(self._endpoints, tls=self._tls, credentials=self._credentials)
            self._session = session
            await session.open()
            await session.login()
        return self._session


class ArmCountsWriter:
    """Every `interval_s`, writes the counter's pending counts through `put`."""

    def __init__(
        self,
        counter: ArmCounter,
        keys: KeySchema,
        put: PutValue,
        interval_s: float = WRITE_INTERVAL_S,
    ) -> None:
        self._counter = counter
        self._keys = keys
        self._put = put
        self._interval_s = interval_s

    async def run(self) -> None:
        """Writes until cancelled (the server's `close` writes the last counts)."""
        while True:
            await asyncio.sleep(self._interval_s)
            await self.flush()

    async def flush(self) -> bool:
        """Writes what is pending; False (logged) when a write failed: it stays pending."""
        for pending in self._counter.pending():
            counts = pending.counts
            key = self._keys.rollout_arm_counts(counts.rollout_id, counts.stage, counts.front)
            try:
                await self._put(key, counts.encode())
            except (EtcdError, grpc.aio.AioRpcError, OSError, TimeoutError) as exc:
                log.warning(
                    "arm_counts_write_failed",
                    key=key,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in_s=self._interval_s,
                )
                return False
            self._counter.written(pending)
        return True
