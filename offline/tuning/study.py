"""The search: Optuna's seeded TPE sampler over the spec's space, median pruning, and the
trial log it leaves.

The spec's own values are tried first (when they lie inside the space), so the log shows
what the search gained over them on the same hold-out. Trials run one at a time: the
sampler is seeded with the spec's seed and each trial's training is deterministic, so the
same spec, data and trial count give the same log (a `timeout` can cut it shorter).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import optuna

from offline.decision import Direction
from offline.experiment.spec import ExperimentRunSpec
from offline.tuning.objective import Objective
from offline.tuning.space import TuningSpec, Value

COMPLETE, PRUNED = "complete", "pruned"


@dataclass(frozen=True)
class TrialRecord:
    """One trial: its values, `state` ("complete" or "pruned"), the hold-out metric
    (None when pruned), the trees its ranker kept (or had grown when pruned), its
    seconds, and the early-stopping metric it reported, (trees, value) pairs."""

    number: int
    state: str
    values: Mapping[str, Value]
    value: float | None
    trees: int
    seconds: float
    curve: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class TuningResult:
    """The whole search: every trial in order, the best complete one, and the one that
    tried the spec's own values (None when they lie outside the space)."""

    metric: str
    direction: Direction
    trials: tuple[TrialRecord, ...]
    best: TrialRecord
    baseline: TrialRecord | None
    seconds: float


def current_values(spec: ExperimentRunSpec, tuning: TuningSpec) -> dict[str, Value] | None:
    """The spec's values of the searched fields, or None when one lies outside the space."""
    values: dict[str, Value] = {}
    for parameter in tuning.space:
        node: Any = spec
        for name in parameter.path.split("."):
            node = getattr(node, name)
        if not parameter.contains(node):
            return None
        values[parameter.path] = node
    return values


def run_study(
    objective: Objective,
    spec: ExperimentRunSpec,
    trials: int,
    timeout_s: float | None = None,
) -> TuningResult:
    """Runs up to `trials` trials (fewer when `timeout_s` passes first: no trial starts
    after it). Raises what a trial raises, except a pruned trial's TrialPruned."""
    tuning = objective.tuning
    maximize = objective.direction is Direction.HIGHER_IS_BETTER
    study = optuna.create_study(
        direction="maximize" if maximize else "minimize",
        sampler=optuna.samplers.TPESampler(seed=spec.seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=tuning.pruning.startup_trials,
            n_warmup_steps=tuning.pruning.warmup_trees,
        ),
    )
    baseline = current_values(spec, tuning)
    if baseline is not None:
        study.enqueue_trial(dict(baseline))
    started = time.perf_counter()
    study.optimize(objective, n_trials=trials, timeout=timeout_s, catch=())
    records = tuple(_record(t) for t in study.trials if t.state in _STATES)
    complete = [r for r in records if r.state == COMPLETE]
    if not complete:
        raise RuntimeError("no trial completed: every trial was pruned")
    best_number = study.best_trial.number
    return TuningResult(
        metric=tuning.metric,
        direction=objective.direction,
        trials=records,
        best=next(r for r in records if r.number == best_number),
        baseline=records[0] if baseline is not None and records else None,
        seconds=time.perf_counter() - started,
    )


_STATES = {optuna.trial.TrialState.COMPLETE: COMPLETE, optuna.trial.TrialState.PRUNED: PRUNED}


def _record(trial: optuna.trial.FrozenTrial) -> TrialRecord:
    return TrialRecord(
        number=trial.number,
        state=_STATES[trial.state],
        values=dict(trial.params),
        value=None if trial.state != optuna.trial.TrialState.COMPLETE else trial.value,
        trees=int(trial.user_attrs.get("trees", 0)),
        seconds=float(trial.user_attrs.get("seconds", 0.0)),
        curve=tuple(sorted((int(k), float(v)) for k, v in trial.intermediate_values.items())),
    )
