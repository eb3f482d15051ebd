"""A registry loads on its own named worker threads, so loads hung in the artifact store
cannot starve the process's other threads, and a load that finds every worker busy is
logged and counted."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from structlog.testing import capture_logs

from services.common.load_executor import DEFAULT_LOAD_WORKERS, LoadExecutor
from tests.manual_time import wait_until
from tests.services.common.registry_support import RegistrySetup, pointer, run_scenario


def test_loads_hung_in_the_store_leave_the_default_executor_free() -> None:
    """With the default executor as small as on two cores, loads abandoned while the store
    hangs (one per worker of the registry) leave asyncio.to_thread working; one more load
    waits for a worker, logged and counted, and runs when the store answers."""

    async def scenario(s: RegistrySetup) -> None:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(2))
        hung = [f"sv-{n}" for n in range(DEFAULT_LOAD_WORKERS)]
        for revision, version in enumerate(hung, start=1):
            sha = f"{version}-sha"
            s.loader.gate(sha)
            await s.registry.on_pointer(pointer(version, revision))
            await wait_until(lambda: sha in s.loader.calls)  # noqa: B023 (awaited here)
        assert await asyncio.wait_for(asyncio.to_thread(lambda: "free"), 1.0) == "free"
        with capture_logs() as logs:
            await s.registry.on_pointer(pointer("sv-last", len(hung) + 1))
            await wait_until(
                lambda: any(e["event"] == "serving_version_load_workers_busy" for e in logs)
            )
        busy = next(e for e in logs if e["event"] == "serving_version_load_workers_busy")
        assert busy["workers"] == DEFAULT_LOAD_WORKERS
        assert "sv-last-sha" not in s.loader.calls
        s.loader.release_all()
        await s.serving("sv-last")

    run_scenario(scenario)


def test_loads_run_on_named_threads_and_saturation_is_counted() -> None:
    """Each load runs on a `<component>-version-load` thread; a load submitted while every
    worker is busy counts once in `saturated`."""

    async def scenario() -> None:
        executor = LoadExecutor("ranking", workers=1)
        gate = threading.Event()

        def load(argument: str) -> str:
            gate.wait(5)
            return f"{argument}@{threading.current_thread().name}"

        first = asyncio.create_task(executor.run(load, "a"))
        second = asyncio.create_task(executor.run(load, "b"))
        await asyncio.sleep(0.05)
        assert (executor.busy, executor.saturated) == (2, 1)
        gate.set()
        assert (await first).startswith("a@ranking-version-load")
        assert (await second).startswith("b@ranking-version-load")
        assert executor.busy == 0
        executor.shutdown()

    asyncio.run(scenario())
