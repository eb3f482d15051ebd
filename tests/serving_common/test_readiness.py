"""Readiness: downstream services serve the pointer's version or one it named within the
retry window; the front serves while it holds any version."""

from __future__ import annotations

from services.common.readiness import downstream_readiness, front_readiness
from services.common.versions import PointerSeen, VersionView

WINDOW = 60.0
NOW = 1000.0


def _view(
    held: tuple[str, ...],
    pointer: str | None,
    named_until: dict[str, float] | None = None,
    last_failure: str | None = None,
) -> VersionView:
    return VersionView(
        current=held[0] if held else None,
        held=frozenset(held),
        pointer=PointerSeen(pointer, pointer + "-sha", 9, NOW - 5) if pointer else None,
        named_until=named_until or {},
        loading=None if pointer in held else pointer,
        attempts=0,
        last_failure=last_failure,
    )


def test_downstream_holding_the_pointers_version_is_serving() -> None:
    """Held pointer version: SERVING, whether it is current or previous."""
    assert downstream_readiness(_view(("sv-b",), "sv-b"), NOW, WINDOW).serving
    assert downstream_readiness(_view(("sv-a", "sv-b"), "sv-b"), NOW, WINDOW).serving


def test_downstream_holding_a_version_the_pointer_just_left_is_serving_until_the_window() -> None:
    """Loading the new version while holding the one named 10 s ago: SERVING, and the
    verdict says when to look again (50 s)."""
    verdict = downstream_readiness(
        _view(("sv-a",), "sv-b", {"sv-a": NOW - 10}), NOW, WINDOW
    )
    assert verdict.serving
    assert verdict.recheck_in_s == 50.0
    assert "sv-a" in verdict.reason
    assert "sv-b" in verdict.reason


def test_downstream_past_the_window_without_the_pointers_version_is_not_serving() -> None:
    """The pointer left sv-a 61 s ago and sv-b still fails: NOT_SERVING, with the reason."""
    verdict = downstream_readiness(
        _view(("sv-a",), "sv-b", {"sv-a": NOW - 61}, last_failure="ArtifactNotFoundError"),
        NOW,
        WINDOW,
    )
    assert not verdict.serving
    assert "ArtifactNotFoundError" in verdict.reason
    assert verdict.recheck_in_s is None


def test_downstream_holding_nothing_or_without_a_pointer_is_not_serving() -> None:
    assert not downstream_readiness(_view((), "sv-a"), NOW, WINDOW).serving
    assert not downstream_readiness(_view((), None), NOW, WINDOW).serving


def test_downstream_holding_a_version_the_pointer_never_named_is_not_serving() -> None:
    """A version the pointer named long ago (not in named_until) does not count."""
    assert not downstream_readiness(_view(("sv-old",), "sv-b"), NOW, WINDOW).serving


def test_front_is_serving_while_it_holds_any_version() -> None:
    """The front resolves versions itself: any held version will do, however old."""
    assert front_readiness(_view(("sv-old",), "sv-b"), NOW, WINDOW).serving
    verdict = front_readiness(_view((), "sv-b", last_failure="boom"), NOW, WINDOW)
    assert not verdict.serving
    assert "boom" in verdict.reason
