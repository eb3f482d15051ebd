"""Keeps a serving process's health and its lag report in step with its versions.

Re-decides readiness (`services/common/readiness.py`) whenever the registry changes
or a window runs out, and sets health only when the verdict changes, logging why.
When the version this process answers with has differed from the pointer's for
longer than the retry window it logs `serving_version_lagging` once (and
`serving_version_caught_up` when it no longer lags), and keeps the
`recmesh_serving_version_lagging` gauge in step.
"""

from __future__ import annotations

from typing import Any

import structlog

from recmesh.rpc.health import HealthReporter
from recmesh.telemetry.metrics import ServerMetrics
from services.common.readiness import ReadinessRule
from services.common.timing import MonotonicClock
from services.common.versions import VersionRegistry, VersionView

log = structlog.get_logger("recmesh.version_health")


def lag_of(view: VersionView, now: float) -> float | None:
    """Seconds since the pointer named a version this process does not answer with;
    None when it answers with the pointer's version (or has seen no pointer)."""
    if view.pointer is None or view.current == view.pointer.version_id:
        return None
    return max(0.0, now - view.pointer.since)


async def follow_versions(
    *,
    component: str,
    registry: VersionRegistry[Any],
    health: HealthReporter,
    rule: ReadinessRule,
    metrics: ServerMetrics,
    clock: MonotonicClock,
) -> None:
    """Runs until cancelled. Health starts NOT_SERVING (the server's initial state)."""
    window = registry.policy.lag_window_s
    serving = False
    lagging = False
    metrics.lagging(False)
    while True:
        view = registry.view()
        now = clock()
        verdict = rule(view, now, window)
        if verdict.serving != serving:
            serving = verdict.serving
            if serving:
                await health.set_serving()
                log.info("readiness_serving", component=component, reason=verdict.reason)
            else:
                await health.set_not_serving()
                log.warning("readiness_not_serving", component=component, reason=verdict.reason)
        lag = lag_of(view, now)
        now_lagging = lag is not None and lag >= window
        if now_lagging and not lagging:
            log.warning(
                "serving_version_lagging",
                component=component,
                serving_version=view.current,
                pointer_version=view.pointer.version_id if view.pointer else None,
                lagging_s=round(lag or 0.0, 1),
                window_s=window,
                load_attempts=view.attempts,
                last_failure=view.last_failure,
            )
        elif lagging and not now_lagging:
            log.info(
                "serving_version_caught_up",
                component=component,
                serving_version=view.current,
            )
        if now_lagging != lagging:
            metrics.lagging(now_lagging)
            lagging = now_lagging
        waits = [verdict.recheck_in_s]
        if lag is not None and not now_lagging:
            waits.append(window - lag)
        timeout = min((w for w in waits if w is not None), default=None)
        await registry.wait_changed(None if timeout is None else max(timeout, 0.01))
