"""A real mesh (candidates, features, ranking, front) serving the baseline version of a
listening log whose ids are strings: track URIs and user names (a helper, not a test
module)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import numpy as np

from recmesh.artifacts.store import LocalArtifactStore
from recmesh.core.baseline import build_baseline_bundle
from recmesh.data.generic import load_interactions_file
from recmesh.data.log_format import ColumnMapping, IdKinds, LogFormat, Weighting
from recmesh.etcd.local_server import LocalEtcd
from tests.mesh_harness import write_pointer
from tests.services.downstream_fakes import (
    real_candidates,
    real_features,
    real_front,
    real_ranking,
    serving,
    wait_ready,
)


def write_listening_log(path: Path) -> dict[str, set[str]]:
    """30 users' play counts of 40 tracks (seeded), as CSV with the header
    `user,track,plays,timestamp`; returns each user's tracks."""
    rng = np.random.default_rng(17)
    played: dict[str, set[str]] = {}
    lines = ["user,track,plays,timestamp"]
    for u in range(30):
        user = f"listener-{u:02d}"
        for t in rng.choice(40, size=8, replace=False).tolist():
            track = f"spotify:track:{t:022d}"
            played.setdefault(user, set()).add(track)
            lines.append(f"{user},{track},{int(rng.integers(1, 50))},{1_700_000_000 + t}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return played


@asynccontextmanager
async def string_id_front(
    etcd: LocalEtcd, tmp_path: Path, interaction_log: Path | None = None
) -> AsyncIterator[tuple[str, dict[str, set[str]]]]:
    """Writes the listening log, serves its baseline version (mapped columns, log1p play
    counts) and yields the front's address and each user's tracks; with
    `interaction_log` the front keeps its interaction log there."""
    played = write_listening_log(tmp_path / "plays.csv")
    log = LogFormat(
        columns=ColumnMapping(item="track", rating="plays"),
        weight=Weighting("log1p"),
        ids=IdKinds("string", "string"),
    )
    dataset = load_interactions_file(tmp_path / "plays.csv", log_format=log)
    store_dir = tmp_path / "artifacts"
    bundle = build_baseline_bundle(dataset, LocalArtifactStore(store_dir))
    await write_pointer(etcd, bundle.version_id, bundle.manifest_sha256)
    async with AsyncExitStack() as stack:
        candidates = await stack.enter_async_context(
            serving(await real_candidates(etcd, store_dir))
        )
        features = await stack.enter_async_context(serving(await real_features(etcd, store_dir)))
        ranking = await stack.enter_async_context(
            serving(await real_ranking(etcd, store_dir, features))
        )
        front = await stack.enter_async_context(
            serving(
                await real_front(
                    etcd, store_dir, candidates, ranking, tmp_path / "imp.jsonl", interaction_log
                )
            )
        )
        await wait_ready(candidates, features, ranking, front)
        yield front, played
