"""Where ranking's scoring time goes: the engine alone, our wrapper, the wire's
read-only matrix, and the whole of ranking's own work on one reply, on real rows.

    python -m bench.scoring [--users 200] [--calls 300] [--trees 154] [--depth 6] [--smoke]

Builds ml-100k's serving snapshot, trains an XGBoost ranker of the default champion's
shape (154 trees of depth 6 once early stopping has cut the 400 rounds; --trees and
--depth change it), computes the real 500-candidate feature matrices of --users users
with the core's pipelines, then times, per call, hot (back to back) and after a 5 ms
pause (as a request's hop sees it under light load):

  engine      Booster.inplace_predict on a writable, C-contiguous float32 matrix
  wrapper     RankingModel.score (recmesh/core/ranking/model.py) on the same matrix
  wire        RankingModel.score on the read-only np.frombuffer view decoding gives
  reply       ranking's whole share of one Rank: parse the GetFeaturesResponse bytes,
              decode and check the matrix, score, top 10, encode the RankResponse
  batch x8    one scoring call over 8 users' rows, per user (what a coalesced
              RankBatch pays)

Prints p50 and p90 per call in ms and each row's ratio to `engine` of the same run.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xgboost as xgb
from numpy.typing import NDArray

from recmesh.api.features.v1 import features_pb2
from recmesh.api.ranking.v1 import ranking_pb2
from recmesh.console.progress import TerminalProgress
from recmesh.core.candidates.pipeline import build_candidate_pipeline
from recmesh.core.features.pipeline import build_feature_pipeline
from recmesh.core.ranking.model import RankingModel, load_ranking_model, top_k_positions
from recmesh.data.fetch import default_data_dir, fetch_ml100k
from recmesh.data.loaders import load_ml100k
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.config import SnapshotConfig
from recmesh.wire.arrays import decode_matrix, encode_float32, encode_int64, encode_matrix
from recmesh.wire.limits import DEFAULT_CANDIDATES

PAUSE_S = 0.005


@dataclass(frozen=True)
class Timing:
    name: str
    hot_ms: tuple[float, float]
    paused_ms: tuple[float, float]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.asarray(samples) * 1000.0
    return float(np.percentile(values, 50)), float(np.percentile(values, 90))


def timed(name: str, work: Callable[[int], object], calls: int, per: int = 1) -> Timing:
    """p50/p90 of `work(i)` per unit (a call covering `per` users counts `per` times)."""
    for i in range(20):
        work(i)
    gc.disable()
    try:
        hot = []
        for i in range(calls):
            started = time.perf_counter()
            work(i)
            hot.append((time.perf_counter() - started) / per)
        paused = []
        for i in range(max(calls // 3, 10)):
            time.sleep(PAUSE_S)
            started = time.perf_counter()
            work(i)
            paused.append((time.perf_counter() - started) / per)
    finally:
        gc.enable()
    return Timing(name, _percentiles(hot), _percentiles(paused))


def real_matrices(users: int) -> tuple[list[NDArray[np.float32]], tuple[str, ...], str]:
    """users' feature matrices (DEFAULT_CANDIDATES rows each) on ml-100k's snapshot."""
    dataset = load_ml100k(fetch_ml100k(default_data_dir(), TerminalProgress(sys.stderr)))
    snapshot = build_snapshot(dataset, dataset.interactions, SnapshotConfig())
    candidates = build_candidate_pipeline(snapshot)
    features = build_feature_pipeline(snapshot)
    matrices = []
    for user in np.unique(dataset.interactions.users)[:users].tolist():
        found = candidates.generate(user, DEFAULT_CANDIDATES)
        matrix = features.compute(
            user, found.item_indices, found.source_indices, found.source_scores, found.sources
        )
        matrices.append(np.ascontiguousarray(matrix, dtype=np.float32))
    return matrices, features.schema.names, features.schema.fingerprint


def trained_model(
    matrices: list[NDArray[np.float32]],
    names: tuple[str, ...],
    fingerprint: str,
    trees: int,
    depth: int,
) -> RankingModel:
    """A ranker of the champion's shape; the labels only need to make trees grow."""
    rng = np.random.default_rng(7)
    train = np.vstack(matrices)
    labels = (train[:, 0] + rng.normal(0, 1, train.shape[0]) > np.median(train[:, 0])).astype(
        np.float32
    )
    ranker = xgb.XGBRanker(
        objective="rank:ndcg", n_estimators=trees, max_depth=depth, n_jobs=1, random_state=7
    )
    ranker.fit(train, labels, group=[m.shape[0] for m in matrices])
    return load_ranking_model(bytes(ranker.get_booster().save_raw("ubj")), names, fingerprint)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--trees", type=int, default=154)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--smoke", action="store_true", help="a few users, trees and calls")
    args = parser.parse_args()
    if args.smoke:
        args.users, args.calls, args.trees = 16, 20, 5
    matrices, names, fingerprint = real_matrices(args.users)
    model = trained_model(matrices, names, fingerprint, args.trees, args.depth)
    replies = [
        features_pb2.GetFeaturesResponse(
            serving_version="sv-bench", features=encode_matrix(m), schema_fingerprint=fingerprint
        ).SerializeToString()
        for m in matrices
    ]
    wire = [
        decode_matrix(features_pb2.GetFeaturesResponse.FromString(r).features, "f")
        for r in replies
    ]
    n = len(matrices)

    def reply(i: int) -> bytes:
        response = features_pb2.GetFeaturesResponse.FromString(replies[i % n])
        if response.schema_fingerprint != model.schema_fingerprint:
            raise AssertionError("schema")
        matrix = decode_matrix(response.features, "features")
        scores = model.score(matrix)
        top = top_k_positions(scores, 10)
        return ranking_pb2.RankResponse(
            serving_version="sv-bench",
            item_ids=encode_int64(top),
            scores=encode_float32(scores[top]),
            candidate_positions=encode_int64(top),
        ).SerializeToString()

    stacked = [np.vstack([matrices[(j + i) % n] for j in range(8)]) for i in range(n)]
    timings = [
        timed(
            "engine",
            lambda i: model.booster.inplace_predict(matrices[i % n], validate_features=False),
            args.calls,
        ),
        timed("wrapper", lambda i: model.score(matrices[i % n]), args.calls),
        timed("wire", lambda i: model.score(wire[i % n]), args.calls),
        timed("reply", reply, args.calls),
        timed("batch x8", lambda i: model.score(stacked[i % n]), max(args.calls // 8, 10), 8),
    ]
    engine = timings[0]
    print(
        f"scoring {DEFAULT_CANDIDATES} x {len(names)} real rows, {args.trees} trees of depth "
        f"{args.depth}, one thread, {n} users (ms per user: p50 / p90; ratio of p50 to engine)"
    )
    print(f"{'':10} {'hot':>17} {'ratio':>6}   {'after 5 ms pause':>17} {'ratio':>6}")
    for t in timings:
        hot_ratio = t.hot_ms[0] / engine.hot_ms[0]
        paused_ratio = t.paused_ms[0] / engine.paused_ms[0]
        print(
            f"{t.name:10} {t.hot_ms[0]:8.3f} / {t.hot_ms[1]:6.3f} {hot_ratio:6.2f}"
            f"   {t.paused_ms[0]:8.3f} / {t.paused_ms[1]:6.3f} {paused_ratio:6.2f}"
        )


if __name__ == "__main__":
    main()
