"""Fits the XGBoost ranker on a Dask cluster (`xgboost.dask`), from the same groups, the
same validation users and the same parameters as `trainer.train_ranker`.

The groups are cut into one contiguous block per worker, each block holding whole
groups (a query never spans two workers, so every pair of documents the ranking
objective compares is on one worker), and each block is placed on its worker before
`xgboost.dask.train` runs; the query ids are the groups' positions, so a worker's rows
are already sorted by query. The model is not bit-identical to the single-process one:
the histogram cuts are merged from per-worker sketches and row subsampling draws on
each worker, so splits and early stopping can differ a little.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dask.array as da
import numpy as np
import xgboost as xgb
import xgboost.dask as dxgb
from distributed import Client
from numpy.typing import NDArray

from offline.experiment.spec import TrainingSpec
from offline.training.ltr_data import LtrData
from offline.training.trainer import (
    TrainedRanker,
    booster_params,
    masked_features,
    trained_ranker,
    validation_groups,
)
from recmesh.console.progress import NullProgress, Progress


def train_ranker_dask(
    client: Client,
    data: LtrData,
    training: TrainingSpec,
    seed: int,
    progress: Progress | None = None,
    engine: Mapping[str, str] | None = None,
) -> TrainedRanker:
    """A ranker over `data`'s groups trained by `client`'s workers. XGBoost's `nthread` on
    each worker is the spec's, at most the fewest threads a worker has (a worker's
    threads are its share of the machine). `engine` (what the cluster is, for the
    lineage) is returned in the ranker's `engine` with the workers and threads used."""
    progress = progress or NullProgress()
    params = training.xgboost
    workers = sorted(client.nthreads().items())
    if not workers:
        raise ValueError("the Dask cluster has no workers")
    nthread = min(params.nthread, min(threads for _, threads in workers))
    matrix = masked_features(data, training.features)
    validation = validation_groups(data, training.validation_users, seed)
    rows = np.repeat(validation, data.group_sizes)
    addresses = [address for address, _ in workers]
    train_set, train_workers = _placed_dmatrix(
        client, matrix[~rows], data.labels[~rows], data.group_sizes[~validation], data,
        addresses,
    )  # fmt: skip
    eval_set, _ = _placed_dmatrix(
        client, matrix[rows], data.labels[rows], data.group_sizes[validation], data, addresses
    )
    booster_settings = {**booster_params(params, seed), "nthread": nthread}
    progress.start(None, f"training the XGBoost ranker on {train_workers} Dask workers")
    try:
        output: dict[str, Any] = dxgb.train(
            client,
            booster_settings,
            train_set,
            num_boost_round=params.n_estimators,
            evals=[(eval_set, "validation")],
            early_stopping_rounds=params.early_stopping_rounds or None,
            verbose_eval=False,
        )
    except BaseException:
        progress.finish("failed")
        raise
    booster: xgb.Booster = output["booster"]
    facts = {
        **(engine or {}),
        "engine": "xgboost.dask",
        "dask_workers": str(train_workers),
        "nthread": str(nthread),
    }
    return trained_ranker(booster, output["history"], data, training, validation, progress, facts)


def _placed_dmatrix(
    client: Client,
    matrix: NDArray[np.float32],
    labels: NDArray[np.float32],
    sizes: NDArray[np.int64],
    data: LtrData,
    workers: Sequence[str],
) -> tuple[dxgb.DaskDMatrix, int]:
    """The groups as a DaskDMatrix, one block of whole groups placed on each worker (fewer
    blocks than workers when there are fewer groups); returns it and the blocks' count."""
    qid = np.repeat(np.arange(sizes.shape[0], dtype=np.int64), sizes)
    bounds = group_blocks(sizes, len(workers))
    parts: list[tuple[Any, Any, Any]] = []
    for (start, stop), worker in zip(bounds, workers, strict=False):
        x, y, q = client.scatter(
            [matrix[start:stop], labels[start:stop], qid[start:stop]], workers=[worker], hash=False
        )
        rows = stop - start
        parts.append((
            da.from_delayed(x, shape=(rows, matrix.shape[1]), dtype=np.float32),
            da.from_delayed(y, shape=(rows,), dtype=np.float32),
            da.from_delayed(q, shape=(rows,), dtype=np.int64),
        ))  # fmt: skip
    dmatrix = dxgb.DaskDMatrix(
        client,
        da.concatenate([p[0] for p in parts]),
        label=da.concatenate([p[1] for p in parts]),
        qid=da.concatenate([p[2] for p in parts]),
        feature_names=list(data.feature_names),
    )
    return dmatrix, len(parts)


def group_blocks(sizes: NDArray[np.int64], blocks: int) -> list[tuple[int, int]]:
    """Row ranges [start, stop) cutting the groups of `sizes` into at most `blocks`
    contiguous, non-empty blocks of whole groups, about equal in rows."""
    if sizes.shape[0] == 0:
        return []
    ends = np.cumsum(sizes)
    total = int(ends[-1])
    # A block ends at the first group end at or past each equal share of the rows.
    cuts = np.searchsorted(ends, [total * b / blocks for b in range(1, blocks)], side="left")
    stops = sorted({int(ends[c]) for c in cuts} | {total})
    starts = [0, *stops[:-1]]
    return [(start, stop) for start, stop in zip(starts, stops, strict=True) if stop > start]
