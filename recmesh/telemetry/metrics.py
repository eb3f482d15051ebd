"""Prometheus metrics of one server process, on its own registry.

Per method: request count by status code and a latency histogram. Plus the
loaded serving version next to the pointer's, version loads by outcome, refused
versions, whether etcd is reachable, and (for the front) degraded answers by
reason. Exposed over HTTP in the Prometheus text format.
"""

from __future__ import annotations

from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)


class ServerMetrics:
    """The metrics of one server; `component` is its stable name."""

    def __init__(self, component: str, registry: CollectorRegistry | None = None) -> None:
        self.component = component
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "recmesh_rpc_requests",
            "RPCs handled, by method and status code.",
            ["component", "method", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "recmesh_rpc_latency_seconds",
            "Server-side RPC latency, by method.",
            ["component", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.degraded = Counter(
            "recmesh_degraded_answers",
            "Answers given in degraded mode, by reason.",
            ["component", "reason"],
            registry=self.registry,
        )
        self.serving_version = Gauge(
            "recmesh_serving_version_loaded",
            "1 for the serving version this process answers with.",
            ["component", "version"],
            registry=self.registry,
        )
        self.refused_versions = Counter(
            "recmesh_serving_versions_refused",
            "Serving versions refused at load (bad checksum, schema, NaN scores...).",
            ["component"],
            registry=self.registry,
        )
        self.pointer_version = Gauge(
            "recmesh_serving_version_pointer",
            "1 for the serving version the pointer names, as this process last read it.",
            ["component", "version"],
            registry=self.registry,
        )
        self.version_loading = Gauge(
            "recmesh_serving_version_loading",
            "1 while this process runs a load of the version.",
            ["component", "version"],
            registry=self.registry,
        )
        self.version_load_attempts = Counter(
            "recmesh_serving_version_load_attempts",
            "Serving version load attempts, by outcome (loaded, failed, discarded).",
            ["component", "outcome"],
            registry=self.registry,
        )
        self.version_load_retries = Counter(
            "recmesh_serving_version_load_retries",
            "Load attempts of a version whose previous attempt failed.",
            ["component"],
            registry=self.registry,
        )
        self.version_lagging = Gauge(
            "recmesh_serving_version_lagging",
            "1 while the version served has differed from the pointer's for longer than "
            "the retry window.",
            ["component"],
            registry=self.registry,
        )
        self.pointer_refused = Counter(
            "recmesh_serving_pointer_refused",
            "Serving pointer records refused: unsigned, bad_signature, unknown_key, "
            "malformed or replayed (not above the highest sequence accepted).",
            ["component", "reason"],
            registry=self.registry,
        )
        self.pointer_sequence = Gauge(
            "recmesh_serving_pointer_sequence",
            "Sequence number of the last pointer record this process accepted.",
            ["component"],
            registry=self.registry,
        )
        self.pointer_state_save_failures = Counter(
            "recmesh_serving_pointer_state_save_failures",
            "Pointer records not accepted because the local state file could not be "
            "written (retried on the next delivery).",
            ["component"],
            registry=self.registry,
        )
        self.pointer_revision_regressions = Counter(
            "recmesh_serving_pointer_revision_regressed",
            "Pointer values dropped because their etcd revision is below one already "
            "seen (etcd restored from a backup?), by stage (watch, registry).",
            ["component", "stage"],
            registry=self.registry,
        )
        self.breaker_state = Gauge(
            "recmesh_downstream_breaker_state",
            "Breaker of each downstream replica: 0 closed, 1 half-open, 2 open (ejected).",
            ["component", "service", "replica"],
            registry=self.registry,
        )
        self.ejections = Counter(
            "recmesh_downstream_ejections",
            "Downstream replicas ejected after consecutive failures or deadline misses.",
            ["component", "service", "replica"],
            registry=self.registry,
        )
        self.etcd_reachable = Gauge(
            "recmesh_etcd_reachable",
            "1 while this process follows the serving pointer in etcd, 0 while it cannot "
            "reach etcd (it keeps serving what it holds and reconnects with backoff).",
            ["component"],
            registry=self.registry,
        )
        self.shadow_ran = Counter(
            "recmesh_shadow_ran",
            "Shadow rankings of a challenger the front ran after answering, by outcome "
            "(ok, error: the challenger failed or degraded).",
            ["component", "outcome"],
            registry=self.registry,
        )
        self.shadow_shed = Counter(
            "recmesh_shadow_shed",
            "Shadow rankings skipped to keep answers first, by reason (busy, in_flight, "
            "cpu_budget at the front; downstream_busy when ranking refused one).",
            ["component", "reason"],
            registry=self.registry,
        )
        self.downstream_open = Gauge(
            "recmesh_downstream_open",
            "1 while every replica of a downstream service is ejected (calls degrade at once).",
            ["component", "service"],
            registry=self.registry,
        )

    def version_loaded(self, version: str) -> None:
        self.serving_version.clear()
        self.serving_version.labels(self.component, version).set(1)

    def version_refused(self, version: str, reason: str) -> None:
        self.refused_versions.labels(self.component).inc()

    def pointer_named(self, version: str) -> None:
        self.pointer_version.clear()
        self.pointer_version.labels(self.component, version).set(1)

    def version_load_started(self, version: str, attempt: int) -> None:
        self.version_loading.labels(self.component, version).set(1)
        if attempt > 1:
            self.version_load_retries.labels(self.component).inc()

    def version_load_ended(self, version: str, outcome: str) -> None:
        """outcome: loaded, failed or discarded (superseded before or after it finished)."""
        self.version_loading.remove(self.component, version)
        self.version_load_attempts.labels(self.component, outcome).inc()

    def pointer_record_accepted(self, sequence: int) -> None:
        self.pointer_sequence.labels(self.component).set(sequence)

    def pointer_record_refused(self, reason: str) -> None:
        self.pointer_refused.labels(self.component, reason).inc()

    def pointer_state_save_failed(self) -> None:
        self.pointer_state_save_failures.labels(self.component).inc()

    def pointer_revision_regressed(self, stage: str) -> None:
        self.pointer_revision_regressions.labels(self.component, stage).inc()

    def etcd_reached(self, reachable: bool) -> None:
        self.etcd_reachable.labels(self.component).set(1 if reachable else 0)

    def lagging(self, lagging: bool) -> None:
        self.version_lagging.labels(self.component).set(1 if lagging else 0)

    def method(self, name: str) -> MethodMetrics:
        """Counters and histogram of one method (its short name, e.g. "Rank")."""
        return MethodMetrics(self, name)

    def serve_http(self, port: int, host: str = "127.0.0.1") -> int:
        """Starts the /metrics endpoint on host:port (0 picks one); returns the port."""
        server, _ = start_http_server(port, addr=host, registry=self.registry)
        bound: int = server.server_port
        return bound


class MethodMetrics:
    """The latency histogram and per-code counters of one method, bound once so that a
    call costs an observe and an increment, not label lookups."""

    def __init__(self, metrics: ServerMetrics, method: str) -> None:
        self._latency = metrics.latency.labels(metrics.component, method)
        self._requests = metrics.requests
        self._component = metrics.component
        self._method = method
        self._by_code: dict[grpc.StatusCode, Any] = {}

    def observe(self, code: grpc.StatusCode, seconds: float) -> None:
        self._latency.observe(seconds)
        counter = self._by_code.get(code)
        if counter is None:
            counter = self._requests.labels(self._component, self._method, code.name)
            self._by_code[code] = counter
        counter.inc()
