"""Where a run trains its ranker and computes its per-user metrics: in its own process,
or on a Dask cluster when the spec has a `compute:` block.

Either engine gives the pipeline the same two steps with the same results' shapes:
`train` returns a `TrainedRanker` (whose `engine` says how it was trained, for the
lineage) and `per_user` the arrays the bootstrap resamples. Only the training can differ
between the two (XGBoost's distributed sketching and row sampling are per worker); the
per-user metrics of given lists are identical.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from offline.experiment.spec import ComputeSpec, TrainingSpec
from offline.metrics.evaluate import PerUserEvaluator, evaluate_per_user
from offline.training.ltr_data import LtrData
from offline.training.trainer import TrainedRanker, train_ranker
from recmesh.console.progress import Progress


class RankerTrainer(Protocol):
    """Fits the ranker on `data`'s groups as `train_ranker` does (same parameters, same
    validation users, truncated to the best iteration)."""

    def __call__(
        self, data: LtrData, training: TrainingSpec, seed: int, progress: Progress
    ) -> TrainedRanker: ...


@dataclass(frozen=True)
class Engine:
    """A run's two steps that can run on a cluster: fitting the ranker and computing the
    per-user metrics."""

    train: RankerTrainer
    per_user: PerUserEvaluator


def _train_here(
    data: LtrData, training: TrainingSpec, seed: int, progress: Progress
) -> TrainedRanker:
    return train_ranker(data, training, seed, progress)


#: Training and evaluation in the run's own process (no `compute:` block).
IN_PROCESS = Engine(train=_train_here, per_user=evaluate_per_user)


@contextmanager
def open_engine(compute: ComputeSpec, progress: Progress) -> Iterator[Engine]:
    """The engine of `compute`; a local cluster it starts is closed on the way out.
    Raises `offline.experiment.cluster.ClusterError` when a cluster cannot be reached."""
    if not compute.distributed:
        yield IN_PROCESS
        return
    # Dask is imported only by a run that asks for it: importing it costs seconds.
    from offline.experiment.cluster import open_cluster

    with open_cluster(compute, progress) as cluster:
        yield Engine(train=cluster.train, per_user=cluster.per_user)
