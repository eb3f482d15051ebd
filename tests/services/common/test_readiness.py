"""Readiness: downstream services serve the pointer's version, one it named within the
retry window or one a request asked for within it; the front serves while it holds any
version."""

from __future__ import annotations

from services.common.readiness import downstream_readiness, front_readiness
from services.common.versions import PointerSeen, VersionView
from tests.services.common.registry_support import POLICY, RegistrySetup, pointer, run_scenario

WINDOW = 60.0
NOW = 1000.0


def _view(
    held: tuple[str, ...],
    pointer: str | None,
    named_until: dict[str, float] | None = None,
    last_failure: str | None = None,
    asked_at: dict[str, float] | None = None,
) -> VersionView:
    return VersionView(
        current=held[0] if held else None,
        held=frozenset(held),
        pointer=PointerSeen(pointer, pointer + "-sha", 9, NOW - 5) if pointer else None,
        named_until=named_until or {},
        loading=None if pointer in held else pointer,
        attempts=0,
        last_failure=last_failure,
        asked_at=asked_at or {},
    )


def test_downstream_holding_the_pointers_version_is_serving() -> None:
    """Held pointer version: SERVING, whether it is current or previous."""
    assert downstream_readiness(_view(("sv-b",), "sv-b"), NOW, WINDOW).serving
    assert downstream_readiness(_view(("sv-a", "sv-b"), "sv-b"), NOW, WINDOW).serving


def test_downstream_holding_a_version_the_pointer_just_left_is_serving_until_the_window() -> None:
    """Loading the new version while holding the one named 10 s ago: SERVING, and the
    verdict says when to look again (50 s)."""
    verdict = downstream_readiness(_view(("sv-a",), "sv-b", {"sv-a": NOW - 10}), NOW, WINDOW)
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


def test_downstream_holding_a_version_asked_for_within_the_window_is_serving() -> None:
    """The pointer left sv-a 90 s ago but a request asked for sv-a 20 s ago: SERVING, and
    the verdict says when to look again (40 s). An ask 61 s ago does not count, nor an
    ask for a version no longer held."""
    verdict = downstream_readiness(
        _view(("sv-a",), "sv-b", {"sv-a": NOW - 90}, asked_at={"sv-a": NOW - 20}), NOW, WINDOW
    )
    assert verdict.serving
    assert verdict.recheck_in_s == 40.0
    assert "asked for" in verdict.reason
    stale = _view(("sv-a",), "sv-b", asked_at={"sv-a": NOW - 61})
    assert not downstream_readiness(stale, NOW, WINDOW).serving
    dropped = _view(("sv-c",), "sv-b", asked_at={"sv-a": NOW - 1})
    assert not downstream_readiness(dropped, NOW, WINDOW).serving


def test_downstream_stays_serving_while_a_lagging_front_asks_for_what_it_holds() -> None:
    """The pointer moves sv-a -> sv-b and sv-b loads nowhere, so the front keeps asking
    for sv-a: the registry stays SERVING long past the window while those asks go on,
    and turns NOT_SERVING one window after they stop."""

    async def scenario(s: RegistrySetup) -> None:
        window = POLICY.lag_window_s

        def serving() -> bool:
            return downstream_readiness(s.registry.view(), s.time.now(), window).serving

        s.loader.failures["sv-b-sha"] = 1_000
        await s.registry.on_pointer(pointer("sv-a", 1))
        await s.serving("sv-a")
        await s.registry.on_pointer(pointer("sv-b", 2))
        await s.failed("sv-b", 1)
        for _ in range(4):  # 80 s, well past the 30 s window
            s.time.advance(window * 2 / 3)
            assert serving()
            assert (await s.registry.get("sv-a")).version_id == "sv-a"
        s.time.advance(window - 1)
        assert serving()
        s.time.advance(1)
        assert not serving()

    run_scenario(scenario)


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
