"""What an offline experiment runs: the typed form of an experiment spec file.

`offline.experiment.spec_loading.load_spec` reads and validates a YAML file
into an `ExperimentRunSpec`; every class here is frozen and holds only values
that passed validation. `metric_names` says which metrics an experiment can
measure; which way each of them gets better is `metric_direction`
(`recmesh.decision.metrics`, which the control plane shares).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from offline.decision import Direction
from offline.tuning.space import TuningSpec
from recmesh.data.log_format import LogFormat
from recmesh.decision.metrics import LATENCY_METRIC as LATENCY_METRIC
from recmesh.decision.metrics import metric_direction as metric_direction
from recmesh.snapshot.config import SnapshotConfig
from recmesh.wire.limits import DEFAULT_CANDIDATES

COVERAGE = "coverage"

#: Metrics without a cutoff (which way each gets better: `recmesh.decision.metrics`).
_PLAIN_METRICS = ("map", COVERAGE, "novelty", "diversity", "popularity", LATENCY_METRIC)
#: Metrics measured at the spec's cutoff k, written `name@k`.
_CUTOFF_METRICS = ("precision", "recall", "ndcg", "hit_rate", "mrr")

LabelKind = Literal["auto", "time", "random"]
LABEL_KINDS: tuple[LabelKind, ...] = ("auto", "time", "random")


def metric_names(k: int) -> tuple[str, ...]:
    """Every metric an experiment with cutoff k can name."""
    return (*(f"{name}@{k}" for name in _CUTOFF_METRICS), *_PLAIN_METRICS)


@dataclass(frozen=True)
class DatasetSpec:
    """`name` "ml-100k" is fetched into the data directory when missing; otherwise `path`
    names a dataset directory or file (`recmesh.data.loaders.load_path`), a file read with
    `log` (format, column mapping, weight, item metadata). `max_users`, when set, keeps a
    seeded random subsample of that many users (smoke runs and tests)."""

    name: str
    path: str | None = None
    max_users: int | None = None
    log: LogFormat = field(default_factory=LogFormat)


@dataclass(frozen=True)
class CandidateSpec:
    """Candidate generation of the challenger: `n` candidates per user (serving asks
    DEFAULT_CANDIDATES, 500),
    from the sources of a snapshot built with `snapshot` (neighbours, similarity,
    half-lives): these settings travel inside the snapshot, so serving uses them too."""

    n: int = DEFAULT_CANDIDATES
    snapshot: SnapshotConfig = field(default_factory=SnapshotConfig)


@dataclass(frozen=True)
class LabelSpec:
    """How training labels are made from the TRAIN split (never from the test split).

    The train split is split again: a candidate set generated from the earlier part is
    labelled by the held-out part. `kind` "time" holds out each user's latest `fraction`
    of rows (a later validation window); "random" holds out a seeded random `fraction`
    stratified like the test split; "auto" picks "random" for stratified test splits and
    "time" for time splits, so the labels are held out the way the test split holds out.
    `folds` > 1 repeats a random hold-out with different seeds, stacking the groups.
    """

    kind: LabelKind = "auto"
    fraction: float = 0.2
    folds: int = 1


@dataclass(frozen=True)
class XGBoostParams:
    """XGBRanker parameters. `nthread` is fixed so that runs are reproducible."""

    objective: str = "rank:ndcg"
    n_estimators: int = 300
    learning_rate: float = 0.1
    max_depth: int = 6
    min_child_weight: float = 10.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    early_stopping_rounds: int = 30
    eval_metric: str = "ndcg@10"
    nthread: int = 2

    def as_params(self) -> dict[str, str]:
        """Every parameter as text (the lineage's training_params)."""
        return {name: str(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class TrainingSpec:
    """The challenger's learning-to-rank training.

    `features` None uses every feature of the serving schema; otherwise only the named
    ones inform the model (the others are held constant in training, so no tree splits on
    them; the model still takes the whole serving feature matrix). `negatives_per_user`
    keeps that many random unlabelled candidates per group besides every positive (0:
    all). `validation_users` is the share of users whose groups go to early stopping.
    """

    labels: LabelSpec = field(default_factory=LabelSpec)
    xgboost: XGBoostParams = field(default_factory=XGBoostParams)
    features: tuple[str, ...] | None = None
    negatives_per_user: int = 0
    validation_users: float = 0.1


@dataclass(frozen=True)
class RelativeGuardrail:
    """Non-inferiority: the delta's worse interval end may not pass margin x |champion|."""

    metric: str
    margin: float
    direction: Direction


@dataclass(frozen=True)
class LatencyBudget:
    """An absolute guardrail: the challenger's p99 scoring time of `candidates` candidates,
    over `calls` timed calls of the serving model's score on real feature matrices, must
    be at most `max_ms`. Written in the spec as `{metric: latency_p99_ms, max: 5}`."""

    max_ms: float
    candidates: int = DEFAULT_CANDIDATES
    calls: int = 300


@dataclass(frozen=True)
class BootstrapSpec:
    """The paired bootstrap over users. Use at least 1,000 resamples for a decision."""

    resamples: int = 1000
    confidence: float = 0.95


@dataclass(frozen=True)
class ComputeSpec:
    """Where training and evaluation run. Neither field set: in the run's own process.
    `dask` is the address of a Dask scheduler to connect to (`tcp://host:port`);
    `local_workers` starts a local Dask cluster of that many worker processes (one thread
    each, on 127.0.0.1) for the run and closes it after. At most one is set."""

    dask: str | None = None
    local_workers: int | None = None

    @property
    def distributed(self) -> bool:
        return self.dask is not None or self.local_workers is not None


@dataclass(frozen=True)
class ExperimentRunSpec:
    """A whole experiment: what to train, against what to measure it, how to decide."""

    name: str
    description: str
    seed: int
    dataset: DatasetSpec
    split: str
    k: int
    candidates: CandidateSpec
    training: TrainingSpec
    metrics: tuple[str, ...]
    success_metrics: tuple[str, ...]
    guardrails: tuple[RelativeGuardrail, ...]
    latency: LatencyBudget | None
    bootstrap: BootstrapSpec
    approvals_required: int = 1
    sample_users: int = 3
    #: What `recmesh experiment tune` searches (None: nothing to tune); a run ignores it.
    tuning: TuningSpec | None = None
    #: Where training and evaluation run (default: this process).
    compute: ComputeSpec = field(default_factory=ComputeSpec)

    @property
    def bootstrapped_metrics(self) -> tuple[str, ...]:
        """The metrics with bootstrap intervals: all but the latency."""
        return tuple(m for m in self.metrics if m != LATENCY_METRIC)
