"""The version registry follows the newest pointer, abandons superseded loads, swaps back
to the previous version without a reload, and answers requests for versions it does not
hold quickly and with the reason."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from structlog.testing import capture_logs

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rpc.errors import FailedPreconditionError, UnavailableError
from services.common.versions import VersionRegistry
from tests.manual_time import wait_until
from tests.services.common.registry_support import POLICY, RegistrySetup, pointer, run_scenario


def test_pointer_callback_returns_before_the_load_finishes() -> None:
    """on_pointer hands the pointer over and returns at once; the load runs behind it."""

    async def scenario(s: RegistrySetup) -> None:
        gate = s.loader.gate("sv-a-sha")
        await asyncio.wait_for(s.registry.on_pointer(pointer("sv-a", 1)), 0.5)
        assert s.current() is None
        gate.set()
        await s.serving("sv-a")

    run_scenario(scenario)


def test_pointer_switch_keeps_previous_version_available() -> None:
    """After a switch the new version is current and the old one still answers get()."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(pointer("sv-a", 1))
        await s.serving("sv-a")
        await s.registry.on_pointer(pointer("sv-b", 2))
        await s.serving("sv-b")
        assert (await s.registry.get("sv-a")).value == "loaded:sv-a-sha"

    run_scenario(scenario)


def test_newer_pointer_wins_over_an_older_load_that_finishes_late() -> None:
    """A slow load of sv-b is overtaken by the pointer moving to sv-c: sv-c serves, and
    when sv-b's load returns later its result is dropped (never current, not kept)."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(pointer("sv-a", 1))
        await s.serving("sv-a")
        slow = s.loader.gate("sv-b-sha")
        await s.registry.on_pointer(pointer("sv-b", 2))
        await wait_until(lambda: "sv-b-sha" in s.loader.calls)
        await s.registry.on_pointer(pointer("sv-c", 3))
        await s.serving("sv-c")
        slow.set()
        await wait_until(lambda: "sv-b-sha" in s.loader.returned)
        await asyncio.sleep(0.05)
        assert s.current() == "sv-c"
        assert s.registry.view().held == {"sv-a", "sv-c"}
        assert "switched" not in s.events.of("sv-b")
        assert s.events.of("sv-b")[-1] == "discarded"

    run_scenario(scenario)


def test_rollback_during_a_slow_load_is_instant_and_cancels_it() -> None:
    """The pointer moves to sv-b (loading slowly) and back to sv-a: sv-a is current at
    once, sv-a is not reloaded, and sv-b's late result never becomes current."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(pointer("sv-a", 1))
        await s.serving("sv-a")
        slow = s.loader.gate("sv-b-sha")
        await s.registry.on_pointer(pointer("sv-b", 2))
        await wait_until(lambda: "sv-b-sha" in s.loader.calls)
        await s.registry.on_pointer(pointer("sv-a", 3))
        view = s.registry.view()
        assert (view.current, view.loading) == ("sv-a", None)
        slow.set()
        await wait_until(lambda: "sv-b-sha" in s.loader.returned)
        await asyncio.sleep(0.05)
        assert s.current() == "sv-a"
        assert s.loader.calls == ["sv-a-sha", "sv-b-sha"]
        assert "switched" not in s.events.of("sv-b")

    run_scenario(scenario)


def test_rollback_to_the_previous_version_swaps_without_a_reload() -> None:
    """With sv-a previous and sv-b current, a pointer back to sv-a swaps them at once."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(pointer("sv-a", 1))
        await s.serving("sv-a")
        await s.registry.on_pointer(pointer("sv-b", 2))
        await s.serving("sv-b")
        await s.registry.on_pointer(pointer("sv-a", 3))
        assert s.current() == "sv-a"
        assert s.registry.view().held == {"sv-a", "sv-b"}
        assert s.loader.calls == ["sv-a-sha", "sv-b-sha"]

    run_scenario(scenario)


def test_request_waiting_for_an_abandoned_load_is_refused() -> None:
    """get() waiting on a load that the pointer then leaves is FAILED_PRECONDITION."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(pointer("sv-a", 1))
        await s.serving("sv-a")
        s.loader.gate("sv-b-sha")
        await s.registry.on_pointer(pointer("sv-b", 2))
        waiter = asyncio.create_task(s.registry.get("sv-b"))
        await asyncio.sleep(0.05)
        await s.registry.on_pointer(pointer("sv-a", 3))
        with pytest.raises(FailedPreconditionError, match="no longer the pointer's"):
            await waiter

    run_scenario(scenario)


def test_older_revision_never_replaces_a_newer_one() -> None:
    """A pointer with a lower revision than one already seen is ignored."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(pointer("sv-b", 5))
        await s.registry.on_pointer(pointer("sv-a", 4))
        await s.serving("sv-b")
        view = s.registry.view()
        assert view.pointer is not None
        assert (view.pointer.version_id, view.pointer.revision) == ("sv-b", 5)
        assert "sv-a-sha" not in s.loader.calls

    run_scenario(scenario)


def test_request_for_version_being_loaded_waits_for_it() -> None:
    """get() during an in-flight first load of that version returns once it is loaded."""

    async def scenario(s: RegistrySetup) -> None:
        gate = s.loader.gate("sv-a-sha")
        await s.registry.on_pointer(pointer("sv-a", 1))
        waiter = asyncio.create_task(s.registry.get("sv-a"))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        gate.set()
        assert (await waiter).version_id == "sv-a"
        assert s.loader.calls == ["sv-a-sha"]

    run_scenario(scenario)


def test_unknown_version_named_by_the_pointer_is_loaded_on_demand() -> None:
    """A request naming the pointer's version before the watch delivered it loads it."""

    async def scenario(s: RegistrySetup) -> None:
        assert (await s.registry.get("sv-new")).value == "loaded:sv-new-sha"

    run_scenario(scenario, RegistrySetup(in_etcd=pointer("sv-new", 7)))


def test_unknown_version_not_named_by_the_pointer_fails_precondition() -> None:
    """A version nobody points at is FAILED_PRECONDITION, not loaded."""

    async def scenario(s: RegistrySetup) -> None:
        with pytest.raises(FailedPreconditionError, match="not loaded"):
            await s.registry.get("sv-x")
        assert s.loader.calls == []

    run_scenario(scenario, RegistrySetup(in_etcd=pointer("sv-other", 7)))


def test_nothing_loaded_yet_is_unavailable() -> None:
    """Before the first version loads, current_or_raise is UNAVAILABLE."""
    with pytest.raises(UnavailableError):
        RegistrySetup().registry.current_or_raise()


def test_view_remembers_versions_the_pointer_named_within_the_window() -> None:
    """named_until keeps each version the pointer left, with when, for lag_window_s."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(pointer("sv-a", 1))
        s.time.advance(5)
        await s.registry.on_pointer(pointer("sv-b", 2))
        left_a = s.time.now()
        assert s.registry.view().named_until == {"sv-a": left_a}
        s.time.advance(POLICY.lag_window_s)
        assert s.registry.view().named_until == {}

    run_scenario(scenario)


def test_etcd_failure_reading_the_pointer_is_unavailable() -> None:
    """A request for a version not held, when etcd cannot be read, is UNAVAILABLE naming
    the pointer read and etcd's error, not an unclassified UNKNOWN."""

    async def read_pointer() -> records_pb2.ServingPointer | None:
        raise grpc.aio.AioRpcError(
            grpc.StatusCode.UNAVAILABLE,
            grpc.aio.Metadata(),
            grpc.aio.Metadata(),
            details="failed to connect to all addresses",
            debug_error_string="",
        )

    async def scenario() -> None:
        registry: VersionRegistry[str] = VersionRegistry("test", str, read_pointer)
        try:
            with pytest.raises(
                UnavailableError,
                match=r"cannot read the serving pointer from etcd: UNAVAILABLE: failed to connect",
            ):
                await registry.get("sv-x")
        finally:
            await registry.close()

    asyncio.run(scenario())


def test_a_pointer_at_an_older_revision_is_dropped_logged_and_counted() -> None:
    """After an etcd restore from a backup a pointer can arrive at a lower revision than
    the one followed: it is not followed, and it is logged and reported; the same
    revision again is dropped silently."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(pointer("sv-a", 7))
        await s.serving("sv-a")
        with capture_logs() as logs:
            await s.registry.on_pointer(pointer("sv-a", 7))
            await s.registry.on_pointer(pointer("sv-b", 3))
        assert s.events.of("sv-b") == ["revision_regressed"]
        regressed = [e for e in logs if e["event"] == "pointer_revision_regressed"]
        assert [(e["revision"], e["seen_revision"]) for e in regressed] == [(3, 7)]
        assert s.current() == "sv-a"

    run_scenario(scenario)


STAGED = records_pb2.ROLLOUT_MODE_STAGED
SHADOW = records_pb2.ROLLOUT_MODE_SHADOW


def _with_rollout(
    version: str, revision: int, challenger: str, mode: records_pb2.RolloutMode.ValueType
) -> records_pb2.ServingPointer:
    record = pointer(version, revision)
    record.rollout.CopyFrom(
        records_pb2.Rollout(
            rollout_id="r-1",
            experiment_id="exp-1",
            challenger_version=challenger,
            challenger_manifest_sha256=challenger + "-sha",
            mode=mode,
            share=0.05,
        )
    )
    return record


def _challenger(s: RegistrySetup) -> str | None:
    loaded = s.registry.challenger_version()
    return loaded.version_id if loaded else None


def test_a_record_naming_a_challenger_loads_it_beside_the_champion() -> None:
    """The champion stays current; the challenger loads in its own registry, and until it
    has loaded challenger_version() is None (the front then serves the champion)."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(pointer("sv-a", 1))
        await s.serving("sv-a")
        gate = s.loader.gate("sv-b-sha")
        await s.registry.on_pointer(
            _with_rollout("sv-a", 2, "sv-b", records_pb2.ROLLOUT_MODE_STAGED)
        )
        rollout = s.registry.rollout
        assert rollout is not None
        assert (rollout.rollout_id, rollout.challenger_version) == ("r-1", "sv-b")
        assert _challenger(s) is None
        gate.set()
        await wait_until(lambda: _challenger(s) == "sv-b")
        assert s.current() == "sv-a"
        assert s.loader.calls == ["sv-a-sha", "sv-b-sha"]

    run_scenario(scenario)


def test_get_hands_the_challenger_to_requests_that_name_it() -> None:
    """A downstream request naming the challenger gets the challenger's loaded value, and
    one naming the champion the champion's."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(
            _with_rollout("sv-a", 1, "sv-b", records_pb2.ROLLOUT_MODE_SHADOW)
        )
        await s.serving("sv-a")
        assert (await s.registry.get("sv-b")).value == "loaded:sv-b-sha"
        assert (await s.registry.get("sv-a")).value == "loaded:sv-a-sha"

    run_scenario(scenario)


def test_the_challenger_is_released_when_the_record_drops_it() -> None:
    """A record without the rollout (a stopped shadow, a rollback) lets the challenger go:
    no rollout, no challenger for new requests; once no request has asked for it for
    the lag window, a request naming it is refused."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(
            _with_rollout("sv-a", 1, "sv-b", records_pb2.ROLLOUT_MODE_SHADOW)
        )
        await wait_until(lambda: _challenger(s) == "sv-b")
        with capture_logs() as logs:
            await s.registry.on_pointer(pointer("sv-a", 2))
        assert s.registry.rollout is None
        assert _challenger(s) is None
        assert any(e["event"] == "serving_version_released" for e in logs)
        s.time.advance(POLICY.lag_window_s + 1)
        with pytest.raises(FailedPreconditionError, match="sv-b"):
            await s.registry.get("sv-b")
        assert s.current() == "sv-a"

    run_scenario(scenario)


def test_a_request_in_flight_at_a_rollback_still_gets_the_released_challenger() -> None:
    """Right after the record drops the challenger, a request that was sent for it (an
    answer in flight at the rollback) still gets it, without a reload; each ask keeps
    it for another lag window, and a window without any ask lets it go."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(
            _with_rollout("sv-a", 1, "sv-b", records_pb2.ROLLOUT_MODE_STAGED)
        )
        await wait_until(lambda: _challenger(s) == "sv-b")
        await s.registry.on_pointer(pointer("sv-a", 2))
        assert (await s.registry.get("sv-b")).value == "loaded:sv-b-sha"
        s.time.advance(POLICY.lag_window_s * 0.75)
        assert (await s.registry.get("sv-b")).value == "loaded:sv-b-sha"
        s.time.advance(POLICY.lag_window_s * 0.75)
        assert (await s.registry.get("sv-b")).value == "loaded:sv-b-sha"
        assert sorted(s.loader.calls) == ["sv-a-sha", "sv-b-sha"]
        assert _challenger(s) is None
        s.time.advance(POLICY.lag_window_s + 1)
        with pytest.raises(FailedPreconditionError, match="sv-b"):
            await s.registry.get("sv-b")

    run_scenario(scenario)


def test_a_challenger_made_champion_is_adopted_without_a_reload() -> None:
    """When the record makes the loaded challenger the champion (a completed rollout), the
    champion registry switches to it at once and the loader is not called again."""

    async def scenario(s: RegistrySetup) -> None:
        await s.registry.on_pointer(
            _with_rollout("sv-a", 1, "sv-b", records_pb2.ROLLOUT_MODE_STAGED)
        )
        await wait_until(lambda: _challenger(s) == "sv-b")
        with capture_logs() as logs:
            await s.registry.on_pointer(pointer("sv-b", 2))
        assert s.current() == "sv-b"
        assert sorted(s.loader.calls) == ["sv-a-sha", "sv-b-sha"]
        assert [e["how"] for e in logs if e["event"] == "serving_version_switched"] == [
            "adopted from the rollout"
        ]
        assert (await s.registry.get("sv-a")).value == "loaded:sv-a-sha"

    run_scenario(scenario)
