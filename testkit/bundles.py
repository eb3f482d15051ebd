"""Serving versions for the mesh tests: the baseline, and a small real XGBoost ranker.

The ranker is trained the honest way, small: snapshot on each user's earlier
history, candidates from the serving pipeline, labels from each user's latest
interactions, an XGBRanker on the serving feature matrix. Its serving snapshot
is then built on the whole dataset, as a promoted version would serve.
"""

from __future__ import annotations

import numpy as np
import xgboost as xgb

from offline.splits.temporal import per_user_time_split
from recmesh.artifacts.protocol import ArtifactStore
from recmesh.bundle.writer import WrittenBundle, write_bundle
from recmesh.core.baseline import build_baseline_bundle
from recmesh.core.candidates.pipeline import build_candidate_pipeline
from recmesh.core.features.pipeline import UserCandidates, build_feature_pipeline
from recmesh.data.dataset import Dataset
from recmesh.data.fingerprint import fingerprint_interactions
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.codec import snapshot_to_bytes
from recmesh.snapshot.config import SnapshotConfig

__all__ = ["build_baseline_bundle", "build_xgboost_bundle"]


def build_xgboost_bundle(
    dataset: Dataset,
    store: ArtifactStore,
    users: int = 200,
    trees: int = 20,
    max_depth: int = 4,
    min_child_weight: float = 1.0,
) -> WrittenBundle:
    """A real XGBoost version of `trees` trees of at most `max_depth` levels, trained on
    the first `users` users' candidates. Ranking costs grow with the trees' count: many
    trees trained on few users (min_child_weight 0 lets them split there) make a version
    slow to rank and quick to train."""
    earlier, latest = per_user_time_split(dataset.interactions, 0.2)
    snapshot = build_snapshot(dataset, earlier, SnapshotConfig())
    candidates = build_candidate_pipeline(snapshot)
    features = build_feature_pipeline(snapshot)
    groups, labels = [], []
    for user in np.unique(earlier.users)[:users].tolist():
        found = candidates.generate(user, 200)
        held_out = latest.items[latest.users == user]
        item_ids = snapshot.item_ids[found.item_indices]
        groups.append(
            UserCandidates(
                user, found.item_indices, found.source_indices, found.source_scores, found.sources
            )
        )
        labels.append(np.isin(item_ids, held_out).astype(np.float32))
    batch = features.compute_batch(groups)
    ranker = xgb.XGBRanker(
        objective="rank:ndcg",
        n_estimators=trees,
        max_depth=max_depth,
        min_child_weight=min_child_weight,
        n_jobs=1,
        random_state=7,
    )
    ranker.fit(batch.matrix, np.concatenate(labels), group=batch.group_sizes)
    serving_snapshot = build_snapshot(dataset, dataset.interactions, SnapshotConfig())
    schema = build_feature_pipeline(serving_snapshot).schema
    return write_bundle(
        store,
        snapshot_bytes=snapshot_to_bytes(serving_snapshot),
        model_bytes=bytes(ranker.get_booster().save_raw("ubj")),
        feature_names=schema.names,
        feature_schema_fingerprint=schema.fingerprint,
        dataset_name=dataset.name,
        dataset_fingerprint=dataset.fingerprint,
        training_dataset_fingerprint=fingerprint_interactions(earlier),
    )
