"""Typed errors of the control plane's store; each carries its gRPC status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import grpc

from recmesh.rpc.errors import NotFoundError, RecmeshError, UnavailableError

if TYPE_CHECKING:
    from control_plane.store.txn import Guard


class KeyNotFoundError(NotFoundError):
    """A key that must exist does not."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no value at {key}")
        self.key = key


class ConflictError(RecmeshError):
    """A guarded commit did not apply because these guards did not hold.

    Domain code decides what a failed guard means (re-read, or refuse with a
    reason); one that escapes reaches the caller as ABORTED.
    """

    code = grpc.StatusCode.ABORTED

    def __init__(self, failed: Sequence[Guard], message: str = "") -> None:
        keys = ", ".join(guard.key for guard in failed)
        super().__init__(message or f"a concurrent change won: guards on {keys} no longer hold")
        self.failed: tuple[Guard, ...] = tuple(failed)

    def failed_on(self, key: str) -> bool:
        return any(guard.key == key for guard in self.failed)


class StoreUnavailableError(UnavailableError):
    """etcd did not answer; the message names the endpoints and what failed."""


class CorruptRecordError(RecmeshError):
    """A stored value cannot be decoded: someone wrote it outside the control plane."""

    code = grpc.StatusCode.DATA_LOSS
