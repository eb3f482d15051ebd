"""The `tuning:` block of an experiment spec: which fields are searched, over what, and
which metric of the hold-out decides.

    tuning:
      metric: ndcg@10                 # any metric of the spec's cutoff but latency
      trials: 20                      # default of --trials
      pruning: {startup_trials: 5, warmup_trees: 60, every_trees: 20}
      space:
        training.labels.folds: {low: 2, high: 8}                 # integers: int bounds
        training.xgboost.learning_rate: {low: 0.02, high: 0.2, log: true}
        training.xgboost.objective: {choices: [rank:ndcg, rank:pairwise]}

A field is named by its dotted path in the spec file and must lie under `candidates.` or
`training.` (what is trained, never what is measured or how). That every bound and
choice makes a valid spec is checked by `offline.experiment.spec_loading`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from offline.experiment.spec_fields import SpecError, integer, known, mapping, number, text

#: Where a tuned field may live: what is trained. Not `training.xgboost.nthread` (it
#: never changes the model) nor `training.features` (a list, not a range).
TUNABLE_PREFIXES = ("candidates.", "training.")
UNTUNABLE = ("training.xgboost.nthread", "training.features")

Value = int | float | str


@dataclass(frozen=True)
class IntRange:
    """Integers from `low` to `high`, both included; `log` samples on a log scale."""

    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class FloatRange:
    """Numbers from `low` to `high`; `log` samples on a log scale."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Choice:
    """One of `options`."""

    options: tuple[Value, ...]


Distribution = IntRange | FloatRange | Choice


@dataclass(frozen=True)
class Parameter:
    """A searched field: its dotted path in the spec file and the values it may take."""

    path: str
    distribution: Distribution

    def values_to_check(self) -> tuple[Value, ...]:
        """The values whose specs must all be valid: the bounds, or every choice."""
        d = self.distribution
        return d.options if isinstance(d, Choice) else (d.low, d.high)

    def contains(self, value: Any) -> bool:
        """Whether `value` is a value of this parameter's distribution."""
        d = self.distribution
        if isinstance(d, Choice):
            return value in d.options
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if isinstance(d, IntRange) and not isinstance(value, int):
            return False
        return d.low <= value <= d.high


@dataclass(frozen=True)
class PruningSpec:
    """Median pruning on the ranker's early-stopping metric: after `startup_trials`
    complete trials, a trial whose metric at a tree count (every `every_trees`, from
    `warmup_trees` on) is below the median of earlier trials' at that count stops."""

    startup_trials: int = 5
    warmup_trees: int = 60
    every_trees: int = 20


@dataclass(frozen=True)
class TuningSpec:
    """What `recmesh experiment tune` searches and how it scores a trial."""

    metric: str
    space: tuple[Parameter, ...]
    trials: int = 20
    pruning: PruningSpec = field(default_factory=PruningSpec)

    def parameter(self, path: str) -> Parameter | None:
        return next((p for p in self.space if p.path == path), None)


def parse_tuning(raw: Any) -> TuningSpec:
    """The block's structure, checked; the metric and the fields' values are checked
    against the rest of the spec by the spec loader. Raises SpecError."""
    body = mapping(raw, "tuning")
    known(body, "tuning", {"metric", "trials", "pruning", "space"})
    if "metric" not in body:
        raise SpecError("tuning.metric", "is missing")
    metric = text(body["metric"], "tuning.metric")
    trials = integer(body.get("trials", 20), "tuning.trials", low=1, high=10_000)
    space_body = mapping(body.get("space"), "tuning.space")
    if not space_body:
        raise SpecError("tuning.space", "names no field to search")
    space = tuple(_parameter(str(path), raw_range) for path, raw_range in space_body.items())
    return TuningSpec(
        metric=metric, space=space, trials=trials, pruning=_pruning(body.get("pruning", {}))
    )


def _parameter(path: str, raw: Any) -> Parameter:
    where = f"tuning.space.{path}"
    if not path.startswith(TUNABLE_PREFIXES) or path in UNTUNABLE:
        raise SpecError(
            where, f"only fields under {' or '.join(TUNABLE_PREFIXES)} can be tuned "
            f"(not {', '.join(UNTUNABLE)})"
        )  # fmt: skip
    body = mapping(raw, where)
    if "choices" in body:
        known(body, where, {"choices"})
        options = body["choices"]
        if not isinstance(options, list) or len(options) < 2:
            raise SpecError(f"{where}.choices", "must be a list of at least two values")
        for option in options:
            if isinstance(option, bool) or not isinstance(option, int | float | str):
                raise SpecError(f"{where}.choices", f"{option!r} is not a number or a string")
        if len(set(options)) != len(options):
            raise SpecError(f"{where}.choices", "names a value twice")
        return Parameter(path, Choice(tuple(options)))
    known(body, where, {"low", "high", "log"})
    for key in ("low", "high"):
        if key not in body:
            raise SpecError(f"{where}.{key}", "is missing (or give choices)")
    log = body.get("log", False)
    if not isinstance(log, bool):
        raise SpecError(f"{where}.log", f"must be true or false, got {log!r}")
    low, high = body["low"], body["high"]
    distribution: Distribution
    if _is_int(low) and _is_int(high):
        distribution = IntRange(integer(low, f"{where}.low"), integer(high, f"{where}.high"), log)
    else:
        distribution = FloatRange(number(low, f"{where}.low"), number(high, f"{where}.high"), log)
    if distribution.low >= distribution.high:
        raise SpecError(where, f"low ({low}) must be below high ({high})")
    if log and distribution.low <= 0:
        raise SpecError(f"{where}.low", "must be positive on a log scale")
    return Parameter(path, distribution)


def _pruning(raw: Any) -> PruningSpec:
    body = mapping(raw, "tuning.pruning")
    known(body, "tuning.pruning", {"startup_trials", "warmup_trees", "every_trees"})
    return PruningSpec(
        startup_trials=integer(body.get("startup_trials", 5), "tuning.pruning.startup_trials",
                               low=0),
        warmup_trees=integer(body.get("warmup_trees", 60), "tuning.pruning.warmup_trees", low=0),
        every_trees=integer(body.get("every_trees", 20), "tuning.pruning.every_trees", low=1),
    )  # fmt: skip


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def with_values(body: Mapping[str, Any], values: Mapping[str, Value]) -> dict[str, Any]:
    """A deep copy of a spec body with each dotted path set to its value (mappings on the
    way are created when missing)."""
    result = copy.deepcopy(dict(body))
    for path, value in values.items():
        *parents, leaf = path.split(".")
        node = result
        for key in parents:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        node[leaf] = value
    return result
