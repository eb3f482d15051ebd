"""The offline steps of an experiment, without the control plane.

`prepare_data` splits the spec's dataset, `train_challenger` trains the ranker on
the TRAIN split only and builds its evaluated arm (a snapshot of TRAIN) and its
serving bundle (the same model bytes with a snapshot of the whole dataset),
`champion_arm` rebuilds the champion's snapshot on the same TRAIN split, and
`evaluate_arms` measures both arms on the same held-out users. The runner calls
these between its RPCs; the benchmark and the determinism test call them directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from offline.decision import DecisionRule
from offline.experiment.arms import Arm, ArmLists, run_arm
from offline.experiment.bundle import BundleFiles, ChampionBundle, ChampionBundleError, make_bundle
from offline.experiment.data import load_dataset
from offline.experiment.engine import IN_PROCESS, Engine
from offline.experiment.latency import LatencyResult, measure_latency
from offline.experiment.measure import Measurement, measure
from offline.experiment.spec import ExperimentRunSpec
from offline.splits.spec import SplitSpec
from offline.training.ltr_data import build_ltr_data
from offline.training.trainer import TrainedRanker
from recmesh.console.progress import Progress
from recmesh.core.features.pipeline import build_feature_pipeline
from recmesh.core.ranking.model import load_ranking_model
from recmesh.data.dataset import Dataset, Interactions
from recmesh.interactions.combine import with_logged_rows
from recmesh.interactions.log_reader import read_log
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.snapshot import Snapshot


@dataclass(frozen=True)
class PreparedData:
    """The dataset (with the interaction log's rows, when a log is read), its split, and
    the held-out users every arm is evaluated on; `log_rows` counts the log lines read,
    per file."""

    dataset: Dataset
    split: SplitSpec
    train: Interactions
    test: Interactions
    log_rows: Mapping[str, int] = field(default_factory=dict)

    @property
    def test_users(self) -> NDArray[np.int64]:
        users: NDArray[np.int64] = np.unique(self.test.users).astype(np.int64)
        return users


@dataclass(frozen=True)
class Challenger:
    """The trained ranker, its serving bundle (the model with a snapshot of every
    interaction the experiment saw) and the arm evaluated (the model with a snapshot
    of TRAIN only)."""

    trained: TrainedRanker
    bundle: BundleFiles
    arm: Arm


@dataclass(frozen=True)
class ArmsEvaluation:
    challenger: ArmLists
    champion: ArmLists
    measurement: Measurement


def prepare_data(
    spec: ExperimentRunSpec,
    data_dir: Path,
    progress: Progress,
    interaction_log: Path | None = None,
) -> PreparedData:
    """The spec's dataset plus every complete line of `interaction_log` (when given),
    weighted as the dataset's rows (`dataset.weight`), so that the experiment sees, and
    its serving bundle holds, every interaction known: a challenger that forgot what a
    refresh served could not be promoted."""
    dataset = load_dataset(spec.dataset, data_dir, spec.seed, progress)
    log_rows: Mapping[str, int] = {}
    if interaction_log is not None:
        progress.start(None, f"reading the interaction log {interaction_log}")
        logged = read_log(interaction_log)
        dataset = with_logged_rows(dataset, logged, spec.dataset.log.weight)
        log_rows = dict(logged.rows_per_file)
        progress.finish(f"{len(logged.interactions):,} logged interactions")
    split = SplitSpec.parse(spec.split)
    train, test = split.apply(dataset.interactions)
    return PreparedData(
        dataset=dataset, split=split, train=train, test=test, log_rows=log_rows
    )


def train_challenger(
    spec: ExperimentRunSpec,
    data: PreparedData,
    progress: Progress,
    version: str = "challenger",
    engine: Engine = IN_PROCESS,
) -> Challenger:
    """Trains on label folds of TRAIN and is evaluated with a snapshot of TRAIN; serves
    the same model bytes with a snapshot of the whole dataset (TRAIN and TEST), so that
    serving knows, and filters, everything each user rated. `engine` fits the ranker (in
    this process, or on the spec's Dask cluster)."""
    ltr = build_ltr_data(
        data.dataset, data.train, spec.candidates, spec.training, data.split, spec.seed, progress
    )
    trained = engine.train(ltr, spec.training, spec.seed, progress)
    progress.start(None, "building the evaluated snapshot of the TRAIN split")
    snapshot = build_snapshot(data.dataset, data.train, spec.candidates.snapshot)
    progress.finish(f"{snapshot.user_ids.shape[0]:,} users")
    progress.start(None, "building the serving snapshot of the whole dataset")
    serving_snapshot = build_snapshot(
        data.dataset, data.dataset.interactions, spec.candidates.snapshot
    )
    bundle = make_bundle(
        serving_snapshot,
        trained.model_bytes,
        trained.feature_names,
        trained.schema_fingerprint,
        training_dataset_fingerprint=snapshot.dataset_fingerprint,
    )
    progress.finish(f"bundle {bundle.version_id}")
    # The serving checks: parses, matches the schema, scores a probe matrix finitely.
    model = load_ranking_model(
        trained.model_bytes, trained.feature_names, trained.schema_fingerprint
    )
    return Challenger(trained, bundle, Arm("challenger", version, snapshot, model))


def champion_arm(
    champion: ChampionBundle, version: str, data: PreparedData, challenger_snapshot: Snapshot
) -> Arm:
    """The champion with its own snapshot settings applied to the TRAIN split (the
    challenger's snapshot is reused when it was built with the same settings)."""
    if champion.model is not None:
        expected = build_feature_pipeline(challenger_snapshot).schema.fingerprint
        if champion.manifest.feature_schema_fingerprint != expected:
            raise ChampionBundleError(
                f"champion {version} expects feature schema "
                f"{champion.manifest.feature_schema_fingerprint[:12]}, the serving feature "
                f"pipeline computes {expected[:12]}: it cannot be evaluated with this code"
            )
    if challenger_snapshot.config == champion.snapshot_config:
        snapshot = challenger_snapshot
    else:
        snapshot = build_snapshot(data.dataset, data.train, champion.snapshot_config)
    return Arm("champion", version, snapshot, champion.model)


def evaluate_arms(
    spec: ExperimentRunSpec, rule: DecisionRule, data: PreparedData, challenger: Arm,
    champion: Arm, progress: Progress, engine: Engine = IN_PROCESS,
) -> ArmsEvaluation:  # fmt: skip
    """Both arms' top-k lists on the same held-out users, measured and judged by `rule`
    (the per-user metrics computed by `engine`: the same arrays wherever they are)."""
    users = data.test_users
    champion_lists = run_arm(champion, users, spec.k, progress)
    challenger_lists = run_arm(challenger, users, spec.k, progress)
    latency = champion_latency = None
    if spec.latency is not None:
        progress.start(spec.latency.calls, "timing the challenger's scoring", "calls")
        latency = _timed(challenger, challenger_lists, spec)
        champion_latency = _timed(champion, champion_lists, spec)
        progress.finish(f"p99 {0.0 if latency is None else latency.p99_ms:.2f} ms")
    progress.start(None, f"bootstrap over users ({spec.bootstrap.resamples} resamples)")
    measurement = measure(
        spec, rule, challenger_lists, champion_lists, data.train, data.test, data.dataset.items,
        latency, champion_latency, evaluator=engine.per_user,
    )  # fmt: skip
    progress.finish(measurement.decision.verdict.value)
    return ArmsEvaluation(challenger_lists, champion_lists, measurement)


def _timed(arm: Arm, lists: ArmLists, spec: ExperimentRunSpec) -> LatencyResult | None:
    if arm.model is None or spec.latency is None:
        return None
    return measure_latency(arm.model, lists.groups, spec.latency)
