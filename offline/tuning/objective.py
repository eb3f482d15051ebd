"""One trial: the spec with the trial's values, trained and scored by the experiment's own
code on the hold-out of TRAIN.

A trial trains exactly as `recmesh experiment run` trains (`build_ltr_data` over label
folds of the hold-out's fit part, `train_ranker`), and is scored exactly as a run scores
the challenger (the serving candidates of the validation users over a snapshot of the fit
part, the model through the serving checks, `top_k_lists`, `evaluate`), on rows of TRAIN
only (`TuningData`). Two things are computed once and reused while the trial's values
leave them unchanged, which changes no number: the LTR groups (built for the most folds
the space allows; a trial with fewer folds takes the first ones, which are exactly what
it would have built) and the validation users' candidate groups (they depend on the
snapshot settings only).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import optuna
import xgboost as xgb

from offline.decision import Direction
from offline.experiment.arms import SERVING_CANDIDATES, Arm, top_k_lists
from offline.experiment.spec import ExperimentRunSpec, metric_direction
from offline.experiment.spec_loading import parse_spec
from offline.metrics.evaluate import evaluate
from offline.training.groups import CandidateGroups, candidate_groups
from offline.training.ltr_data import LtrData, build_ltr_data
from offline.training.trainer import TrainedRanker, train_ranker
from offline.tuning.holdout import TuningData
from offline.tuning.space import (
    Choice,
    IntRange,
    Parameter,
    PruningSpec,
    TuningSpec,
    Value,
    with_values,
)
from recmesh.console.progress import NullProgress, Progress
from recmesh.core.ranking.model import load_ranking_model
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.config import SnapshotConfig
from recmesh.snapshot.snapshot import Snapshot

FOLDS_PATH = "training.labels.folds"


def suggest(trial: optuna.Trial, parameter: Parameter) -> Value:
    """The trial's value of one parameter, drawn by the study's sampler."""
    d = parameter.distribution
    if isinstance(d, Choice):
        value = trial.suggest_categorical(parameter.path, list(d.options))
        if value is None:  # never: None is not among the options
            raise ValueError(f"{parameter.path}: no value drawn")
        return value
    if isinstance(d, IntRange):
        return trial.suggest_int(parameter.path, d.low, d.high, log=d.log)
    return trial.suggest_float(parameter.path, d.low, d.high, log=d.log)


def describe(values: Mapping[str, Value]) -> str:
    """`folds=8 learning_rate=0.05`: each value by the last part of its path."""
    return " ".join(
        f"{path.rsplit('.', 1)[-1]}={value:.4g}" if isinstance(value, float)
        else f"{path.rsplit('.', 1)[-1]}={value}"
        for path, value in values.items()
    )  # fmt: skip


def first_folds(data: LtrData, folds: int) -> LtrData:
    """The groups of the first `folds` label folds: build_ltr_data appends folds in order
    and draws negatives in that order, so this is what it builds with `folds` folds."""
    groups = int(np.count_nonzero(data.folds < folds))
    rows = int(data.group_sizes[:groups].sum())
    return replace(
        data,
        matrix=data.matrix[:rows],
        labels=data.labels[:rows],
        items=data.items[:rows],
        group_sizes=data.group_sizes[:groups],
        users=data.users[:groups],
        folds=data.folds[:groups],
    )


def most_folds(folds: Parameter | None) -> int:
    """The most label folds a trial can ask for through the space's `folds` parameter (its
    upper bound, or its largest choice); 0 when the space does not search folds."""
    if folds is None:
        return 0
    return max((v for v in folds.values_to_check() if isinstance(v, int)), default=0)


class _Pruning(xgb.callback.TrainingCallback):
    """Reports the ranker's early-stopping metric to the trial every `every` trees (as
    higher-is-better for the study's direction), stops a trial the pruner condemns, and
    advances the trial's progress by one tree per round."""

    def __init__(
        self, trial: optuna.Trial, metric: str, sign: float, pruning: PruningSpec,
        progress: Progress,
    ) -> None:  # fmt: skip
        super().__init__()
        self._trial, self._metric, self._sign = trial, metric, sign
        self._every = pruning.every_trees
        self._progress = progress
        self.trees = 0

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.trees = epoch + 1
        self._progress.advance()
        if self.trees % self._every == 0:
            self._trial.report(self._sign * float(evals_log["validation"][self._metric][-1]),
                               self.trees)  # fmt: skip
            if self._trial.should_prune():
                raise optuna.TrialPruned(f"pruned at tree {self.trees}")
        return False


@dataclass
class _Cached:
    key: Any = None
    value: Any = None


class Objective:
    """Scores a trial's values on the hold-out of TRAIN; `__call__` is Optuna's objective.

    `body` is the spec file's document (its `tuning:` block is ignored), `data` the rows
    of TRAIN tuning may use, `cap` what the run's footprint does to a spec (XGBoost
    threads). Each trial records the trees its ranker kept (`trees`) and its seconds.
    """

    def __init__(
        self,
        body: Mapping[str, Any],
        tuning: TuningSpec,
        data: TuningData,
        progress: Progress,
        cap: Callable[[ExperimentRunSpec], ExperimentRunSpec] = lambda spec: spec,
    ) -> None:
        self._body = {key: value for key, value in body.items() if key != "tuning"}
        self.tuning = tuning
        self.data = data
        self._progress = progress
        self._cap = cap
        self.direction = metric_direction(tuning.metric)
        self._ltr = _Cached()
        self._validation = _Cached()
        self._max_folds = most_folds(tuning.parameter(FOLDS_PATH))

    def spec(self, values: Mapping[str, Value]) -> ExperimentRunSpec:
        """The validated spec with `values` at their paths (and the footprint's cap)."""
        return self._cap(parse_spec(with_values(self._body, values)))

    def __call__(self, trial: optuna.Trial) -> float:
        started = time.perf_counter()
        values = {p.path: suggest(trial, p) for p in self.tuning.space}
        spec = self.spec(values)
        ltr = self.ltr_data(spec)
        self._validation_groups(spec.candidates.snapshot)  # built before the trial's progress
        xgboost = spec.training.xgboost
        sign = 1.0 if self.direction is Direction.HIGHER_IS_BETTER else -1.0
        self._progress.start(
            xgboost.n_estimators, f"trial {trial.number + 1} ({describe(values)})", "trees"
        )
        pruning = _Pruning(trial, xgboost.eval_metric, sign, self.tuning.pruning, self._progress)
        try:
            trained = train_ranker(ltr, spec.training, spec.seed, NullProgress(), [pruning])
            value = self.score(spec, trained)
        except optuna.TrialPruned:
            trial.set_user_attr("trees", pruning.trees)
            trial.set_user_attr("seconds", time.perf_counter() - started)
            self._progress.finish(f"pruned at tree {pruning.trees}")
            raise
        except BaseException:
            self._progress.finish("failed")
            raise
        trial.set_user_attr("trees", trained.trees)
        trial.set_user_attr("seconds", time.perf_counter() - started)
        self._progress.finish(f"{self.tuning.metric} {value:.4f}, {trained.trees} trees kept")
        return value

    def ltr_data(self, spec: ExperimentRunSpec) -> LtrData:
        """The trial's LTR groups over label folds of the hold-out's fit part."""
        training = spec.training
        labels = training.labels
        key = (spec.candidates, labels.kind, labels.fraction, training.negatives_per_user,
               spec.seed)  # fmt: skip
        # Cached groups serve only a trial of at most as many folds as they were built
        # for (the space's most, unless a trial set more some other way).
        if self._ltr.key is None or self._ltr.key[0] != key or self._ltr.key[1] < labels.folds:
            folds = max(labels.folds, self._max_folds)
            widest = replace(training, labels=replace(labels, folds=folds))
            self._ltr = _Cached((key, folds), None)
            self._ltr.value = build_ltr_data(
                self.data.dataset, self.data.fit, spec.candidates, widest, self.data.split,
                spec.seed, self._progress,
            )  # fmt: skip
        cached: LtrData = self._ltr.value
        return first_folds(cached, labels.folds)

    def score(self, spec: ExperimentRunSpec, trained: TrainedRanker) -> float:
        """The tuning metric of the trained ranker on the validation users."""
        snapshot, groups = self._validation_groups(spec.candidates.snapshot)
        model = load_ranking_model(
            trained.model_bytes, trained.feature_names, trained.schema_fingerprint
        )
        topk = top_k_lists(Arm("challenger", "trial", snapshot, model), groups, spec.k)
        evaluation = evaluate(
            topk, self.data.validation, self.data.fit, self.data.dataset.items, spec.k
        )
        return float(evaluation.overall[self.tuning.metric])

    def _validation_groups(self, config: SnapshotConfig) -> tuple[Snapshot, CandidateGroups]:
        if self._validation.key != config:
            snapshot = build_snapshot(self.data.dataset, self.data.fit, config)
            groups = candidate_groups(
                snapshot, self.data.validation_users, SERVING_CANDIDATES, self._progress,
                label="candidates of the validation users",
            )  # fmt: skip
            self._validation = _Cached(config, (snapshot, groups))
        cached: tuple[Snapshot, CandidateGroups] = self._validation.value
        return cached
