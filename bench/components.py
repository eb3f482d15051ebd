"""Per-call latency of the candidate and feature pipelines on real MovieLens users.

Run from the repository root (never as a test):

    .venv/bin/python bench/components.py [--data PATH] [--users 300] [--rounds 5] [--n 500]

Builds a snapshot from every rating of the dataset at PATH (any layout
`recmesh.data.loaders.load_path` reads; default ../shared/data/ml-latest-small, whose
9,742 items make it the slower case; for ml-100k pass the directory
`recmesh data fetch ml-100k` fills), then, for `--users` real users, times
`CandidatePipeline.generate(user, n)` (and the same for unknown users) and
`FeaturePipeline.compute` on the user's n candidates, each component in its own loop
over the users (as in its own service process), `--rounds` times after one warm-up
round, and prints p50/p99 in microseconds. Also prints snapshot build, encode and
decode times, the trainer's batch path per user, and the cost of one small numpy call
on this machine (component time is mostly such calls).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from recmesh.core.candidates.pipeline import build_candidate_pipeline
from recmesh.core.features.pipeline import UserCandidates, build_feature_pipeline
from recmesh.data.dataset import Dataset
from recmesh.data.loaders import load_path
from recmesh.files.repo_paths import SHARED_DATA_DIR
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.codec import snapshot_from_bytes, snapshot_to_bytes
from recmesh.snapshot.config import SnapshotConfig

T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    label: str
    samples_us: list[float]

    def line(self) -> str:
        values = np.array(self.samples_us)
        return (
            f"{self.label:<44} p50 {np.percentile(values, 50):8.0f}  "
            f"p99 {np.percentile(values, 99):8.0f}  mean {values.mean():8.0f}  "
            f"(n={values.shape[0]})"
        )


def _seconds(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _call_us() -> float:
    """The cost of one cheap numpy call here: most component time is such calls."""
    values = np.ones(500, dtype=np.float32)
    start = time.perf_counter_ns()
    for _ in range(10_000):
        np.add(values, 1.0)
    return (time.perf_counter_ns() - start) / 10_000 / 1e3


def benchmark(dataset: Dataset, n_users: int, rounds: int, n: int) -> list[str]:
    """The report lines for one dataset."""
    lines = [
        f"dataset {dataset.name}: {len(dataset.interactions)} interactions, "
        f"{dataset.items.item_ids.shape[0]} items"
    ]
    build_s, built = _seconds(lambda: build_snapshot(dataset, dataset.interactions))
    snapshot = snapshot_from_bytes(snapshot_to_bytes(built))
    encode_s, data = _seconds(lambda: snapshot_to_bytes(snapshot))
    decode_s, _ = _seconds(lambda: snapshot_from_bytes(data))
    setup_s, pipelines = _seconds(
        lambda: (build_candidate_pipeline(snapshot), build_feature_pipeline(snapshot))
    )
    candidates, features = pipelines
    lines.append(
        f"snapshot build {build_s:.2f} s, encode {encode_s:.2f} s, decode {decode_s:.2f} s, "
        f"{len(data) / 1e6:.1f} MB; pipelines built in {setup_s:.2f} s; "
        f"{len(features.schema)} features, config {SnapshotConfig().to_json()}"
    )
    users = snapshot.user_ids[:n_users].tolist()
    found = {user: candidates.generate(user, n) for user in users}
    generate_us: list[float] = []
    unknown_us: list[float] = []
    compute_us: list[float] = []
    # Each component runs over all users in its own loop, as in its own service process;
    # round 0 warms caches up and is not recorded.
    for round_ in range(rounds + 1):
        for user in users:
            t0 = time.perf_counter_ns()
            candidates.generate(user, n)
            t1 = time.perf_counter_ns()
            if round_:
                generate_us.append((t1 - t0) / 1e3)
        for user in users:
            t0 = time.perf_counter_ns()
            candidates.generate(-user - 1, n)
            t1 = time.perf_counter_ns()
            if round_:
                unknown_us.append((t1 - t0) / 1e3)
        for user in users:
            c = found[user]
            t0 = time.perf_counter_ns()
            features.compute(user, c.item_indices, c.source_indices, c.source_scores, c.sources)
            t1 = time.perf_counter_ns()
            if round_:
                compute_us.append((t1 - t0) / 1e3)
    groups = [
        UserCandidates(user, c.item_indices, c.source_indices, c.source_scores, c.sources)
        for user, c in found.items()
    ]
    batch_s, _ = _seconds(lambda: features.compute_batch(groups))
    lines.extend(
        [
            Timing(f"candidates.generate (known user, n={n})", generate_us).line(),
            Timing(f"candidates.generate (unknown user, n={n})", unknown_us).line(),
            Timing(f"features.compute ({n} candidates)", compute_us).line(),
            f"features.compute_batch: {batch_s / len(users) * 1e3:.2f} ms per user "
            f"({len(users)} users)",
            f"machine: one small numpy call (np.add on 500 floats) takes {_call_us():.2f} us",
        ]
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=SHARED_DATA_DIR / "ml-latest-small")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    if not args.data.exists():
        parser.error(f"{args.data} does not exist")
    for line in benchmark(load_path(args.data), args.users, args.rounds, args.n):
        print(line)


if __name__ == "__main__":
    main()
