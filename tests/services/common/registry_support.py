"""A version registry under test: a loader whose attempts a test can fail or hold, the
events the registry reports, and injected time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

from recmesh.api.controlplane.v1 import records_pb2
from services.common.load_policy import LoadPolicy
from services.common.versions import VersionRegistry
from tests.manual_time import ManualTime, wait_until

POLICY = LoadPolicy(
    first_retry_s=1.0, max_retry_s=4.0, multiplier=2.0, jitter=0.0, lag_window_s=30.0
)


def pointer(version: str, revision: int) -> records_pb2.ServingPointer:
    return records_pb2.ServingPointer(
        serving_version=version, manifest_sha256=version + "-sha", revision=revision
    )


class FakeLoader:
    """Loads "<sha>" into "loaded:<sha>". The first `failures[sha]` attempts of a sha fail
    (an artifact not visible yet); `gates[sha]` holds its attempts until set."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.returned: list[str] = []
        self.failures: dict[str, int] = {}
        self.gates: dict[str, threading.Event] = {}

    def gate(self, sha: str) -> threading.Event:
        self.gates[sha] = threading.Event()
        return self.gates[sha]

    def release_all(self) -> None:
        for gate in self.gates.values():
            gate.set()

    def __call__(self, sha: str) -> str:
        self.calls.append(sha)
        gate = self.gates.get(sha)
        if gate is not None:
            gate.wait(5)
        if self.failures.get(sha, 0) > 0:
            self.failures[sha] -= 1
            raise FileNotFoundError(f"artifact {sha} is not in the store")
        self.returned.append(sha)
        return f"loaded:{sha}"


class RecordedEvents:
    """Records what the registry reports, as (event, version) pairs."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def pointer_named(self, version_id: str) -> None:
        self.seen.append(("pointer", version_id))

    def load_started(self, version_id: str, attempt: int) -> None:
        self.seen.append((f"started#{attempt}", version_id))

    def load_succeeded(self, version_id: str) -> None:
        self.seen.append(("succeeded", version_id))

    def load_failed(self, version_id: str, attempt: int, reason: str) -> None:
        self.seen.append((f"failed#{attempt}", version_id))

    def load_discarded(self, version_id: str) -> None:
        self.seen.append(("discarded", version_id))

    def switched(self, version_id: str) -> None:
        self.seen.append(("switched", version_id))

    def pointer_revision_regressed(self, version_id: str, revision: int, seen: int) -> None:
        self.seen.append(("revision_regressed", version_id))

    def of(self, version: str) -> list[str]:
        return [event for event, v in self.seen if v == version]


class RegistrySetup:
    def __init__(self, in_etcd: records_pb2.ServingPointer | None = None) -> None:
        self.loader = FakeLoader()
        self.time = ManualTime()
        self.events = RecordedEvents()

        async def read_pointer() -> records_pb2.ServingPointer | None:
            return in_etcd

        self.registry: VersionRegistry[str] = VersionRegistry(
            "test",
            self.loader,
            read_pointer,
            policy=POLICY,
            events=self.events,
            clock=self.time.now,
            sleep=self.time.sleep,
        )

    def current(self) -> str | None:
        current = self.registry.current
        return current.version_id if current else None

    async def serving(self, version: str) -> None:
        await wait_until(lambda: self.current() == version)

    async def failed(self, version: str, attempts: int) -> None:
        await wait_until(lambda: f"failed#{attempts}" in self.events.of(version))


def run_scenario(
    scenario: Callable[[RegistrySetup], Awaitable[None]], setup: RegistrySetup | None = None
) -> None:
    chosen = setup or RegistrySetup()

    async def main() -> None:
        try:
            await scenario(chosen)
        finally:
            chosen.loader.release_all()
            await chosen.registry.close()

    asyncio.run(main())
