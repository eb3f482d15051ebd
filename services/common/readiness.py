"""When a serving process says SERVING, decided from its versions alone.

Downstream services (candidates, features, ranking) answer for the version the
front names in each request, so they are ready while they can answer a version the
front may still ask for:

    SERVING  iff it holds the pointer's version,
             or it holds a version the pointer named less than the retry window
             (`LoadPolicy.lag_window_s`) ago,
             or it holds a version a request asked for less than the window ago;
    NOT_SERVING otherwise (also before it has seen a pointer).

The second clause covers a switch: the front keeps asking for the old version until
it has loaded the new one, and a load may need a few retries. The third covers a
front that cannot load the new version either: it keeps asking for the old one,
which every downstream still holds, so none of them stops serving it (the mesh would
otherwise degrade to popularity although every process could answer). Past the
window a service that cannot load the pointer's version and is no longer asked for
what it holds says NOT_SERVING, so callers' health-checking channels stop sending to
it instead of getting FAILED_PRECONDITION for every request.

The front resolves the version itself, so it is SERVING while it holds any version.

Draining overrides both: once a process drains it stays NOT_SERVING
(`HealthReporter.begin_draining`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.common.versions import VersionView


@dataclass(frozen=True)
class Readiness:
    serving: bool
    reason: str
    #: Seconds after which the verdict changes by itself (a window runs out), if ever.
    recheck_in_s: float | None = None


#: (view, now, lag window in seconds) -> readiness.
ReadinessRule = Callable[[VersionView, float, float], Readiness]


def downstream_readiness(view: VersionView, now: float, window_s: float) -> Readiness:
    """The rule for candidates, features and ranking (see the module docstring)."""
    pointer = view.pointer
    if pointer is None:
        return Readiness(False, "no serving pointer seen yet")
    if pointer.version_id in view.held:
        return Readiness(True, f"holds the pointer's version {pointer.version_id}")
    # (seconds left in the window, version, why the front may still ask for it)
    recent = [
        (until + window_s - now, version, f"the pointer named {now - until:.1f} s ago")
        for version, until in view.named_until.items()
        if version in view.held and until + window_s > now
    ] + [
        (at + window_s - now, version, f"a request asked for {now - at:.1f} s ago")
        for version, at in view.asked_at.items()
        if version in view.held and at + window_s > now
    ]
    if recent:
        left, version, why = max(recent)
        return Readiness(
            True,
            f"holds {version}, which {why}; loading the pointer's version {pointer.version_id}",
            recheck_in_s=left,
        )
    held = ", ".join(sorted(view.held)) or "nothing"
    failure = f"; last load failed: {view.last_failure}" if view.last_failure else ""
    return Readiness(
        False,
        f"holds neither the pointer's version {pointer.version_id} nor one the pointer "
        f"named or a request asked for in the last {window_s:g} s (holds {held}){failure}",
    )


def front_readiness(view: VersionView, now: float, window_s: float) -> Readiness:
    """The rule for the front: SERVING while it holds any version."""
    if view.current is None:
        failure = f"; last load failed: {view.last_failure}" if view.last_failure else ""
        return Readiness(False, f"no serving version loaded yet{failure}")
    return Readiness(True, f"answers with {view.current}")
