"""What the front keeps of a serving version: popularity fallback, titles, external ids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recmesh.artifacts.protocol import ArtifactStore
from recmesh.bundle.manifest import KIND_BASELINE, BundleManifest
from recmesh.core.version_checks import load_checked_version
from recmesh.snapshot.snapshot import Snapshot

POPULAR_LIST_LENGTH = 1000


@dataclass(frozen=True)
class FrontBundle:
    """The front's view of one serving version. `external_ids` is empty when the
    dataset's item ids are integers, else each catalogue item's string id;
    `string_user_ids` tells whether its users are strings, known by their codes."""

    manifest: BundleManifest
    item_ids: NDArray[np.int64]
    titles: tuple[str, ...]
    popular_item_ids: NDArray[np.int64]
    popular_scores: NDArray[np.float32]
    external_ids: tuple[str, ...] = ()
    string_user_ids: bool = False

    @property
    def is_baseline(self) -> bool:
        return self.manifest.kind == KIND_BASELINE

    def describe(self, item_ids: NDArray[np.int64]) -> tuple[list[str], list[str]]:
        """The title and the external id of each item ("" where the item is unknown, and
        every external id "" when the item ids are integers), found in one search."""
        positions = np.searchsorted(self.item_ids, item_ids)
        positions = np.minimum(positions, self.item_ids.shape[0] - 1)
        known = self.item_ids[positions] == item_ids
        rows = [p if ok else -1 for p, ok in zip(positions.tolist(), known.tolist(), strict=True)]
        titles = [self.titles[p] if p >= 0 else "" for p in rows]
        if not self.external_ids:
            return titles, [""] * len(rows)
        return titles, [self.external_ids[p] if p >= 0 else "" for p in rows]


def front_bundle_from_snapshot(manifest: BundleManifest, snapshot: Snapshot) -> FrontBundle:
    order = np.argsort(-snapshot.popularity, kind="stable")[:POPULAR_LIST_LENGTH]
    return FrontBundle(
        manifest=manifest,
        item_ids=snapshot.item_ids,
        titles=tuple(snapshot.titles),
        popular_item_ids=snapshot.item_ids[order],
        popular_scores=snapshot.popularity[order].astype(np.float32),
        external_ids=tuple(snapshot.item_external_ids),
        string_user_ids=bool(snapshot.user_external_ids),
    )


def load_front_bundle(store: ArtifactStore, manifest_sha256: str) -> FrontBundle:
    """Reads and verifies the manifest and snapshot (runs in a worker thread)."""
    manifest, snapshot, _ = load_checked_version(store, manifest_sha256)
    return front_bundle_from_snapshot(manifest, snapshot)
