"""Times how long after a Promote each serving replica serves the new version.

Two real signals, read concurrently over all replicas every `poll_s`:

- the `recmesh_serving_version_loaded` gauge on a replica's /metrics (one
  HTTP/1.0 GET asking for that metric only). A service sets it in the same
  event-loop step that makes a loaded version current, so it names the version
  the replica's next request is answered with. This is the signal for
  candidates, features and ranking, which answer with whatever version a
  request names.
- a Recommend to a front replica, whose answer names its serving version. A
  Recommend costs about 13 ms of CPU over the four services, so polling the
  fronts with it every few milliseconds would starve the very loads being
  timed: a front's gauge is polled instead, and from the moment it names the
  new version the front is asked for recommendations until one, not degraded,
  names it. The front's time is when that answer arrived.

Times are upper bounds, taken when the probe that shows the new version
returns; `uncertainty_s` is how long before that the previous probe, which
still showed the old version, was sent (the switch happened in between).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from bench.replicated_mesh import Replica
from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc

GAUGE = "recmesh_serving_version_loaded"
METRICS_REQUEST = f"GET /metrics?name[]={GAUGE} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode()
PROBE_TIMEOUT_S = 2.0
PROBE_USER = "196"


class PickupError(RuntimeError):
    """A probe failed, or a replica did not serve the version in time."""


@dataclass(frozen=True)
class Pickup:
    """When one replica was first seen serving the version, in seconds after `since`."""

    replica: str
    seconds: float
    uncertainty_s: float
    probes: int
    #: Front answers that named the version but were degraded, before the first full one.
    degraded_answers: int = 0


async def metrics_version(port: int) -> str | None:
    """The version the gauge on 127.0.0.1:port/metrics names (None when none is loaded)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(METRICS_REQUEST)
        raw = await reader.read()  # HTTP/1.0: the server closes after the response
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1:2]
    if status != [b"200"]:
        raise PickupError(f"/metrics on port {port} answered {head[:60]!r}")
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == GAUGE and sample.value == 1:
                return sample.labels["version"]
    return None


async def _gauge_pickup(replica: Replica, version: str, since: float, poll_s: float) -> Pickup:
    probes, last_old_sent = 0, since
    while True:
        sent = time.perf_counter()
        current = await asyncio.wait_for(metrics_version(replica.metrics_port), PROBE_TIMEOUT_S)
        probes += 1
        if current == version:
            seen = time.perf_counter()
            return Pickup(replica.name, seen - since, seen - last_old_sent, probes)
        last_old_sent = sent
        await asyncio.sleep(poll_s)


async def _front_pickup(
    replica: Replica,
    front: recommend_pb2_grpc.RecommendServiceAsyncStub,
    version: str,
    since: float,
    poll_s: float,
) -> Pickup:
    gauge = await _gauge_pickup(replica, version, since, poll_s)
    degraded = 0
    while True:
        answer = await front.Recommend(
            recommend_pb2.RecommendRequest(user_id=PROBE_USER, k=10), timeout=PROBE_TIMEOUT_S
        )
        if answer.serving_version != version:
            raise PickupError(
                f"{replica.name}'s gauge names {version} but it answered with "
                f"{answer.serving_version}"
            )
        if not answer.degraded:
            seen = time.perf_counter()
            return Pickup(replica.name, seen - since, gauge.uncertainty_s, gauge.probes, degraded)
        degraded += 1
        await asyncio.sleep(poll_s)


async def time_pickup(
    replicas: Sequence[Replica],
    fronts: Mapping[str, recommend_pb2_grpc.RecommendServiceAsyncStub],
    version: str,
    since: float,
    poll_s: float,
    timeout_s: float,
) -> list[Pickup]:
    """Polls every replica until it serves version; `fronts` holds a stub per front replica
    (by name). `since` is a time.perf_counter() value. Raises PickupError when a replica
    does not serve the version within timeout_s."""
    tasks = {
        r.name: asyncio.create_task(
            _front_pickup(r, fronts[r.name], version, since, poll_s)
            if r.name in fronts
            else _gauge_pickup(r, version, since, poll_s)
        )
        for r in replicas
    }
    done, pending = await asyncio.wait(
        tasks.values(), timeout=timeout_s, return_when=asyncio.FIRST_EXCEPTION
    )
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.result()  # raises the first probe failure, if any
    if pending:
        late = sorted(name for name, task in tasks.items() if task in pending)
        raise PickupError(f"not serving {version} after {timeout_s:.0f} s: {', '.join(late)}")
    return [task.result() for task in tasks.values()]
