"""An etcd client authenticated as one user, that logs in again whenever etcd forgets it.

etcd's simple tokens live in etcd's memory: one is forgotten after `--auth-token-ttl`
seconds without use (300 by default) and all are forgotten when etcd restarts. A
long-lived client (the control plane's store, a serving process's pointer watch)
therefore re-authenticates when etcd rejects its token and runs the call again once:
a rejected call was never applied, so running it again is safe even for a write.

Authentication goes through a second client that never carries a token: etcd refuses
even `Authenticate` when the request carries a token it has forgotten (etcd3aio's
`TokenRefresher` re-authenticates through the client whose token went stale, so after
an etcd restart it never recovers).

Without credentials (mutual TLS) no token is sent: etcd takes the client
certificate's CN as the user.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import grpc
from etcd3aio import Etcd3Client, EtcdError, EtcdUnauthenticatedError

from recmesh.etcd.client import etcd_client
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.rpc.tls import TlsFiles

T = TypeVar("T")

#: etcd's answer when the auth store changed between a request's check and its apply.
_OLD_AUTH_REVISION = "revision of auth store is old"


class EtcdWatchCanceledError(EtcdError):
    """etcd canceled a watch (its token was rejected, or its user may not read the key)."""


def check_watch_response(response: Any) -> None:
    """Raises EtcdWatchCanceledError when a watch response says etcd canceled the watch.

    etcd answers a watch whose token it rejects with one canceled response and keeps
    the stream open, so a caller that did not check would wait forever."""
    if response.canceled:
        reason = str(response.cancel_reason) or "no reason given"
        raise EtcdWatchCanceledError(f"etcd canceled the watch: {reason}")


def is_token_rejection(exc: BaseException) -> bool:
    """Whether etcd refused a call because of its token (expired, forgotten, or issued
    before an auth change), so logging in again and retrying can succeed."""
    if isinstance(exc, EtcdUnauthenticatedError):
        return True
    if isinstance(exc, EtcdWatchCanceledError):
        text = str(exc)
        return "auth token" in text or "Unauthenticated" in text
    if isinstance(exc, grpc.aio.AioRpcError):
        return _OLD_AUTH_REVISION in (exc.details() or "")
    return False


class EtcdSession:
    """One etcd client; with credentials, authenticated as that user.

    `open()` only builds the channel; the first `login()` or `call()` authenticates.
    """

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        tls: TlsFiles | None = None,
        credentials: EtcdCredentials | None = None,
        timeout_s: float = 5.0,
        tls_server_name: str | None = None,
    ) -> None:
        self._endpoints = tuple(endpoints)
        self._tls = tls
        self._tls_server_name = tls_server_name
        self._credentials = credentials
        self._timeout_s = timeout_s
        self._client: Etcd3Client | None = None
        self._login_client: Etcd3Client | None = None
        self._token: str | None = None
        self._lock = asyncio.Lock()

    @property
    def client(self) -> Etcd3Client:
        if self._client is None:
            raise RuntimeError("EtcdSession.open() was not called")
        return self._client

    async def open(self) -> Etcd3Client:
        """Builds the channels; raises TlsConfigError when a TLS file is unusable."""
        client = etcd_client(self._endpoints, self._tls, server_name=self._tls_server_name)
        await client.connect()
        self._client = client
        if self._credentials is not None:
            login = etcd_client(self._endpoints, self._tls, server_name=self._tls_server_name)
            await login.connect()
            self._login_client = login
        return client

    async def login(self) -> None:
        """Authenticates unless a token is held already (nothing to do without
        credentials); raises EtcdError (EtcdUnauthenticatedError for a wrong password)."""
        if self._credentials is not None and self._token is None:
            await self._authenticate(stale=None)

    async def call(self, operation: Callable[[Etcd3Client], Awaitable[T]]) -> T:
        """Runs operation with the client; when etcd rejects the token, logs in again and
        runs it once more."""
        await self.login()
        stale = self._token
        try:
            return await operation(self.client)
        except (EtcdError, grpc.aio.AioRpcError) as exc:
            if self._credentials is None or not is_token_rejection(exc):
                raise
        await self._authenticate(stale)
        return await operation(self.client)

    async def renew(self) -> None:
        """Logs in again now (after a rejection the caller saw itself, e.g. a canceled
        watch)."""
        if self._credentials is not None:
            await self._authenticate(self._token)

    async def close(self) -> None:
        for client in (self._client, self._login_client):
            if client is not None:
                await client.close()
        self._client = None
        self._login_client = None
        self._token = None

    async def _authenticate(self, stale: str | None) -> None:
        credentials = self._credentials
        login = self._login_client
        assert credentials is not None
        if login is None or login.auth is None:
            raise RuntimeError("EtcdSession.open() was not called")
        async with self._lock:
            if self._token is not None and self._token != stale:
                return  # another call logged in again meanwhile
            response = await login.auth.authenticate(
                credentials.user, credentials.password, timeout=self._timeout_s
            )
            self._token = str(response.token)
            self.client.set_token(self._token)
