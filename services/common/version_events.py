"""What a version registry reports as it follows the pointer, and the metrics it feeds."""

from __future__ import annotations

from typing import Protocol

from recmesh.telemetry.metrics import ServerMetrics


class VersionEvents(Protocol):
    """Observer of one process's versions. Every load attempt reports
    `load_started` once, then exactly one of `load_succeeded`, `load_failed` or
    `load_discarded` (superseded by a newer pointer, before or after it finished)."""

    def pointer_named(self, version_id: str) -> None: ...

    def load_started(self, version_id: str, attempt: int) -> None: ...

    def load_succeeded(self, version_id: str) -> None: ...

    def load_failed(self, version_id: str, attempt: int, reason: str) -> None: ...

    def load_discarded(self, version_id: str) -> None: ...

    def switched(self, version_id: str) -> None:
        """The version became the one this process answers with (a load or a swap)."""
        ...

    def pointer_revision_regressed(self, version_id: str, revision: int, seen: int) -> None:
        """A pointer was dropped because its etcd revision is below the one followed."""
        ...


class NoVersionEvents:
    """Reports nothing."""

    def pointer_named(self, version_id: str) -> None:
        pass

    def load_started(self, version_id: str, attempt: int) -> None:
        pass

    def load_succeeded(self, version_id: str) -> None:
        pass

    def load_failed(self, version_id: str, attempt: int, reason: str) -> None:
        pass

    def load_discarded(self, version_id: str) -> None:
        pass

    def switched(self, version_id: str) -> None:
        pass

    def pointer_revision_regressed(self, version_id: str, revision: int, seen: int) -> None:
        pass


class MetricsVersionEvents:
    """Feeds a server's Prometheus metrics: the served and pointer versions, loads in
    progress, attempts by outcome, retries, and failed attempts as refusals."""

    def __init__(self, metrics: ServerMetrics) -> None:
        self._metrics = metrics

    def pointer_named(self, version_id: str) -> None:
        self._metrics.pointer_named(version_id)

    def load_started(self, version_id: str, attempt: int) -> None:
        self._metrics.version_load_started(version_id, attempt)

    def load_succeeded(self, version_id: str) -> None:
        self._metrics.version_load_ended(version_id, "loaded")

    def load_failed(self, version_id: str, attempt: int, reason: str) -> None:
        self._metrics.version_load_ended(version_id, "failed")
        self._metrics.version_refused(version_id, reason)

    def load_discarded(self, version_id: str) -> None:
        self._metrics.version_load_ended(version_id, "discarded")

    def switched(self, version_id: str) -> None:
        self._metrics.version_loaded(version_id)

    def pointer_revision_regressed(self, version_id: str, revision: int, seen: int) -> None:
        self._metrics.pointer_revision_regressed("registry")


class MetricsPointerTrustEvents:
    """Feeds `recmesh_serving_pointer_refused_total{reason}`, the accepted sequence,
    failed saves of the state file and values dropped for an older etcd revision."""

    def __init__(self, metrics: ServerMetrics) -> None:
        self._metrics = metrics

    def accepted(self, sequence: int) -> None:
        self._metrics.pointer_record_accepted(sequence)

    def refused(self, reason: str) -> None:
        self._metrics.pointer_record_refused(reason)

    def save_failed(self) -> None:
        self._metrics.pointer_state_save_failed()

    def revision_regressed(self, stage: str) -> None:
        self._metrics.pointer_revision_regressed(stage)
