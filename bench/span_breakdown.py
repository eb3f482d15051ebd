"""Where a single-stream Recommend spends its time, read from the mesh's span file.

Every hop is a call recorded in the caller (an event on its span with the call's
duration; a CLIENT span in revisions before the events) and a server span in the
callee; the call minus the server span is what the hop itself costs: serialising,
the loopback transport, and gRPC's work on both ends, including waking an idle
process. The front's own work is its server span minus its two calls, and ranking's
own work (decoding the matrix, XGBoost, top k) is its server span minus its call to
features.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

# (caller service, callee service, method): the hops of one Recommend, in call order.
HOPS = (
    ("recommend", "candidates", "GetCandidates"),
    ("recommend", "ranking", "Rank"),
    ("ranking", "features", "GetFeatures"),
)


def span_durations_ms(
    spans_path: Path, since_ns: int, until_ns: int
) -> dict[tuple[str, str, str], list[float]]:
    """Durations of the spans that started in [since_ns, until_ns), keyed by
    (service without the "recmesh-" prefix, kind, method), and of the calls those
    spans made, keyed by (service, "CALL", method)."""
    durations: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    with spans_path.open() as lines:
        for line in lines:
            span = json.loads(line)
            if not since_ns <= span["start_ns"] < until_ns:
                continue
            key = (
                span["service"].removeprefix("recmesh-"),
                span["kind"],
                span["name"].rsplit("/", 1)[-1],
            )
            durations[key].append((span["end_ns"] - span["start_ns"]) / 1e6)
            for call in span.get("events", ()):
                attributes = call.get("attributes", {})
                if "recmesh.call_ms" in attributes:
                    method = call["name"].rsplit("/", 1)[-1]
                    durations[(key[0], "CALL", method)].append(attributes["recmesh.call_ms"])
    return durations


def breakdown(spans_path: Path, since_ns: int, until_ns: int) -> dict[str, float]:
    """p50 milliseconds of each part of a Recommend; empty when spans are missing."""
    durations = span_durations_ms(spans_path, since_ns, until_ns)

    def p50(service: str, kind: str, method: str) -> float | None:
        values = durations.get((service, kind, method))
        return float(np.percentile(values, 50)) if values else None

    front = p50("recommend", "SERVER", "Recommend")
    parts: dict[str, float] = {}
    for caller, callee, method in HOPS:
        client = p50(caller, "CALL", method) or p50(caller, "CLIENT", method)
        server = p50(callee, "SERVER", method)
        if client is None or server is None:
            return {}
        parts[f"{callee} server span"] = server
        parts[f"{caller} -> {callee} hop"] = client - server
        parts[f"{caller} client span of {method}"] = client
    if front is None:
        return {}
    parts["recommend server span"] = front
    calls = parts["recommend client span of GetCandidates"] + parts["recommend client span of Rank"]
    parts["recommend own work"] = front - calls
    parts["ranking own work"] = (
        parts["ranking server span"] - parts["ranking client span of GetFeatures"]
    )
    return parts
