"""The Dask cluster a run with a `compute:` block trains and evaluates on.

`open_cluster` connects to the spec's scheduler, or starts a local cluster of
`local_workers` worker processes (one thread each, listening on 127.0.0.1 only, no
dashboard) and closes it on the way out. Workers must run the same recmesh code and
the same XGBoost as the run: the XGBoost versions are checked when the cluster opens.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib.metadata import version

import xgboost as xgb
from distributed import Client, LocalCluster

from offline.errors import OfflineError
from offline.experiment.spec import ComputeSpec, TrainingSpec
from offline.metrics.dask_per_user import DaskPerUser
from offline.metrics.per_user import PerUserMetrics
from offline.topk import TopK
from offline.training.dask_trainer import train_ranker_dask
from offline.training.ltr_data import LtrData
from offline.training.trainer import TrainedRanker
from recmesh.console.progress import Progress
from recmesh.data.dataset import Interactions, ItemCatalog

#: How long to wait for a scheduler to answer and for its first worker.
CONNECT_TIMEOUT_S = 30
#: User chunks per worker in the evaluation (a few, so a slow worker is not waited on).
CHUNKS_PER_WORKER = 4


class ClusterError(OfflineError, RuntimeError):
    """The Dask cluster cannot be reached, has no worker or runs another XGBoost."""


@dataclass(frozen=True)
class Cluster:
    """A connected cluster; `facts` are what the lineage records of it (engine, library
    versions, which cluster, threads per worker)."""

    client: Client
    facts: Mapping[str, str]

    def train(
        self, data: LtrData, training: TrainingSpec, seed: int, progress: Progress
    ) -> TrainedRanker:
        return train_ranker_dask(self.client, data, training, seed, progress, self.facts)

    def per_user(
        self, topk: TopK, test: Interactions, train: Interactions, catalog: ItemCatalog, k: int
    ) -> PerUserMetrics:
        chunks = CHUNKS_PER_WORKER * max(1, len(self.client.nthreads()))
        return DaskPerUser(self.client, chunks)(topk, test, train, catalog, k)


@contextmanager
def open_cluster(
    compute: ComputeSpec, progress: Progress, timeout_s: float = CONNECT_TIMEOUT_S
) -> Iterator[Cluster]:
    """The cluster `compute` names (it must be distributed), waited for at most
    `timeout_s` to answer and to have its workers; raises ClusterError."""
    with ExitStack() as stack:
        if compute.local_workers is not None:
            workers = compute.local_workers
            where = f"local, {workers} worker processes"
            progress.start(None, f"starting a local Dask cluster of {workers} workers")
            local = stack.enter_context(
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
            )
            client = stack.enter_context(Client(local))
        elif compute.dask is not None:
            workers, where = 1, compute.dask
            progress.start(None, f"connecting to the Dask scheduler {compute.dask}")
            try:
                client = stack.enter_context(Client(compute.dask, timeout=timeout_s))
            except OSError as exc:
                progress.finish("failed")
                raise ClusterError(
                    f"cannot reach the Dask scheduler {compute.dask}: {exc}"
                ) from exc
        else:
            raise ValueError("open_cluster needs a compute block with dask or local_workers")
        try:
            _check_workers(client, workers, where, timeout_s)
        except ClusterError:
            progress.finish("failed")
            raise
        threads = sorted(set(client.nthreads().values()))
        facts = {
            "engine": "xgboost.dask",
            "engine_versions": versions(),
            "dask_cluster": where,
            "dask_threads_per_worker": ",".join(str(t) for t in threads),
        }
        progress.finish(f"{len(client.nthreads())} workers")
        yield Cluster(client=client, facts=facts)


def versions() -> str:
    """The libraries that train and evaluate on the cluster, with their versions."""
    return ", ".join(
        (f"xgboost {xgboost_version()}", f"dask {version('dask')}",
         f"distributed {version('distributed')}")
    )  # fmt: skip


def xgboost_version() -> str:
    """XGBoost's version where this runs (the run's process, or a worker)."""
    return str(xgb.__version__)


def _check_workers(client: Client, workers: int, where: str, timeout_s: float) -> None:
    """Waits for `workers` workers; each must run this run's XGBoost."""
    try:
        client.wait_for_workers(workers, timeout=timeout_s)
    except TimeoutError as exc:
        raise ClusterError(f"the Dask cluster ({where}) has no worker ready") from exc
    ours = xgboost_version()
    theirs: dict[str, str] = client.run(xgboost_version)
    other = {worker: release for worker, release in theirs.items() if release != ours}
    if other:
        worker, release = sorted(other.items())[0]
        raise ClusterError(
            f"Dask worker {worker} runs XGBoost {release}, this run {ours}: the workers "
            "must install the same requirements.lock"
        )
