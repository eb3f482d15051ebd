"""Reads an experiment spec file (YAML) and validates every field before anything runs.

Every problem raises `SpecError` naming the field (`training.xgboost.max_depth`,
`guardrails[1].margin`, ...); unknown keys are errors too, so a typo never
silently falls back to a default. The format is documented in docs/experiments.md
and shown by experiments/xgb-challenger.yaml.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from offline.decision import Direction
from offline.errors import SplitSpecError
from offline.experiment.spec import (
    LABEL_KINDS,
    LATENCY_METRIC,
    BootstrapSpec,
    CandidateSpec,
    ExperimentRunSpec,
    LabelSpec,
    LatencyBudget,
    RelativeGuardrail,
    TrainingSpec,
    XGBoostParams,
    metric_direction,
    metric_names,
)
from offline.experiment.spec_compute import parse_compute
from offline.experiment.spec_dataset import parse_dataset
from offline.experiment.spec_fields import (
    SpecError,
    dataclass_of,
    fraction,
    integer,
    known,
    mapping,
    number,
    required,
    text,
)
from offline.splits.spec import SplitSpec
from offline.tuning.space import TuningSpec, parse_tuning, with_values
from recmesh.decision.metrics import contradicted_direction
from recmesh.snapshot.config import SnapshotConfig
from recmesh.wire.limits import DEFAULT_CANDIDATES, MAX_CANDIDATES_PER_REQUEST

__all__ = ["SpecError", "load_spec", "parse_spec", "read_spec_body"]

#: An experiment's candidates.n: at most what serving generates and ranks per request, so
#: an offline result is measured on no more candidates than the mesh would score.
MAX_CANDIDATES = DEFAULT_CANDIDATES
_EVAL_METRIC = re.compile(r"(ndcg|map|pre)@[1-9][0-9]*")
_OBJECTIVES = ("rank:ndcg", "rank:pairwise", "rank:map")
_DIRECTIONS = {"higher": Direction.HIGHER_IS_BETTER, "lower": Direction.LOWER_IS_BETTER}


def load_spec(path: Path) -> ExperimentRunSpec:
    """The validated spec in the YAML file at `path`; raises SpecError."""
    return parse_spec(read_spec_body(path))


def read_spec_body(path: Path) -> Any:
    """The parsed YAML document of a spec file, not yet validated; raises SpecError."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(str(path), f"cannot read the spec: {exc}") from exc


def parse_spec(body: Any) -> ExperimentRunSpec:
    """The validated spec of a parsed YAML document; raises SpecError."""
    root = mapping(body, "spec")
    known(root, "spec", {
        "name", "description", "seed", "dataset", "split", "k", "candidates", "training",
        "metrics", "success_metrics", "guardrails", "bootstrap", "approvals_required",
        "sample_users", "latency", "tuning", "compute",
    })  # fmt: skip
    name = text(required(root, "name", "spec"), "name")
    split = text(required(root, "split", "spec"), "split")
    try:
        SplitSpec.parse(split)
    except SplitSpecError as exc:
        raise SpecError("split", exc.reason) from None
    k = integer(root.get("k", 10), "k", low=1, high=100)
    seed = integer(required(root, "seed", "spec"), "seed", low=0, high=2**32 - 1)
    names = metric_names(k)
    metrics = _metric_list(required(root, "metrics", "spec"), "metrics", names)
    success = _metric_list(required(root, "success_metrics", "spec"), "success_metrics", names)
    for metric in success:
        if metric not in metrics:
            raise SpecError("success_metrics", f"{metric!r} is not among metrics")
        if metric == LATENCY_METRIC:
            raise SpecError("success_metrics", f"{LATENCY_METRIC} is a guardrail, not a success")
    guardrails, latency = _guardrails(root.get("guardrails", []), metrics, root.get("latency"))
    if latency is not None and LATENCY_METRIC not in metrics:
        metrics = (*metrics, LATENCY_METRIC)
    if latency is None and LATENCY_METRIC in metrics:
        raise SpecError("metrics", f"{LATENCY_METRIC} needs a guardrail with a max (ms)")
    return ExperimentRunSpec(
        name=name,
        description=text(root.get("description", ""), "description", empty=True),
        seed=seed,
        dataset=parse_dataset(required(root, "dataset", "spec")),
        split=split,
        k=k,
        candidates=_candidates(root.get("candidates", {})),
        training=_training(root.get("training", {})),
        metrics=metrics,
        success_metrics=success,
        guardrails=guardrails,
        latency=latency,
        bootstrap=_bootstrap(root.get("bootstrap", {})),
        approvals_required=integer(root.get("approvals_required", 1), "approvals_required",
                                    low=1, high=10),
        sample_users=integer(root.get("sample_users", 3), "sample_users", low=0, high=20),
        tuning=None if root.get("tuning") is None else _tuning(root, names),
        compute=parse_compute(root.get("compute")),
    )


def _tuning(root: Any, names: tuple[str, ...]) -> TuningSpec:
    """The `tuning:` block; every bound and choice of its space must make a valid spec."""
    tuning = parse_tuning(root["tuning"])
    if tuning.metric not in names or tuning.metric == LATENCY_METRIC:
        raise SpecError("tuning.metric", f"must be a measured metric of the hold-out, one of "
                        f"{', '.join(n for n in names if n != LATENCY_METRIC)}")  # fmt: skip
    untuned = {key: value for key, value in root.items() if key != "tuning"}
    for parameter in tuning.space:
        for value in parameter.values_to_check():
            try:
                parse_spec(with_values(untuned, {parameter.path: value}))
            except SpecError as exc:
                raise SpecError(
                    f"tuning.space.{parameter.path}", f"{value!r} makes an invalid spec: {exc}"
                ) from None
    return tuning


def _candidates(raw: Any) -> CandidateSpec:
    body = mapping(raw, "candidates")
    known(body, "candidates", {"n", "snapshot"})
    snapshot = mapping(body.get("snapshot", {}), "candidates.snapshot")
    config = dataclass_of(SnapshotConfig, snapshot, "candidates.snapshot")
    n = integer(body.get("n", MAX_CANDIDATES), "candidates.n", low=10, high=MAX_CANDIDATES)
    return CandidateSpec(n=n, snapshot=config)


def _training(raw: Any) -> TrainingSpec:
    body = mapping(raw, "training")
    known(body, "training", {
        "labels", "xgboost", "features", "negatives_per_user", "validation_users",
    })  # fmt: skip
    labels = dataclass_of(LabelSpec, mapping(body.get("labels", {}), "training.labels"),
                        "training.labels")
    if labels.kind not in LABEL_KINDS:
        raise SpecError("training.labels.kind", f"must be one of {', '.join(LABEL_KINDS)}")
    fraction(labels.fraction, "training.labels.fraction")
    integer(labels.folds, "training.labels.folds", low=1, high=10)
    params = dataclass_of(XGBoostParams, mapping(body.get("xgboost", {}), "training.xgboost"),
                        "training.xgboost")
    _check_params(params)
    features = body.get("features")
    return TrainingSpec(
        labels=labels,
        xgboost=params,
        features=None if features in (None, "all") else _features(features),
        negatives_per_user=integer(body.get("negatives_per_user", 0),
                                    "training.negatives_per_user", low=0),
        validation_users=fraction(body.get("validation_users", 0.1),
                                   "training.validation_users"),
    )


def _check_params(params: XGBoostParams) -> None:
    where = "training.xgboost"
    if params.objective not in _OBJECTIVES:
        raise SpecError(f"{where}.objective", f"must be one of {', '.join(_OBJECTIVES)}")
    if _EVAL_METRIC.fullmatch(params.eval_metric) is None:
        raise SpecError(f"{where}.eval_metric", "must be a ranking metric: ndcg@N, map@N or pre@N")
    integer(params.n_estimators, f"{where}.n_estimators", low=1, high=5000)
    integer(params.max_depth, f"{where}.max_depth", low=1, high=16)
    integer(params.early_stopping_rounds, f"{where}.early_stopping_rounds", low=0)
    integer(params.nthread, f"{where}.nthread", low=1, high=64)
    for name in ("learning_rate", "subsample", "colsample_bytree"):
        value = number(getattr(params, name), f"{where}.{name}")
        if not 0 < value <= 1:
            raise SpecError(f"{where}.{name}", f"must be in (0, 1], got {value}")
    for name in ("min_child_weight", "reg_lambda"):
        if number(getattr(params, name), f"{where}.{name}") < 0:
            raise SpecError(f"{where}.{name}", "must be >= 0")


def _features(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise SpecError("training.features", "must be 'all' or a non-empty list of feature names")
    names = tuple(text(name, "training.features") for name in raw)
    schema = _serving_feature_names()
    unknown = [name for name in names if name not in schema]
    if unknown:
        raise SpecError(
            "training.features", f"unknown feature(s) {', '.join(unknown)} (see the serving "
            "feature schema, recmesh/core/features/hydrators)"
        )
    if len(set(names)) != len(names):
        raise SpecError("training.features", "names a feature twice")
    return names


def _serving_feature_names() -> tuple[str, ...]:
    from recmesh.core.features.hydrators.item import ItemFeatures
    from recmesh.core.features.hydrators.source import SourceFeatures
    from recmesh.core.features.hydrators.user import UserFeatures
    from recmesh.core.features.hydrators.user_item import UserItemFeatures

    # The hydrators build_feature_pipeline wires; names need no snapshot (order is not used).
    return (
        *UserFeatures.feature_names,
        *ItemFeatures.feature_names,
        *UserItemFeatures.feature_names,
        *SourceFeatures().feature_names,
    )


def _guardrails(
    raw: Any, metrics: tuple[str, ...], latency_raw: Any
) -> tuple[tuple[RelativeGuardrail, ...], LatencyBudget | None]:
    if not isinstance(raw, list):
        raise SpecError("guardrails", "must be a list")
    relative: list[RelativeGuardrail] = []
    latency: LatencyBudget | None = None
    for i, item in enumerate(raw):
        where = f"guardrails[{i}]"
        body = mapping(item, where)
        metric = text(required(body, "metric", where), f"{where}.metric")
        if metric == LATENCY_METRIC:
            if "min" in body:
                raise SpecError(f"{where}.min", f"{metric} gets better lower, so its guardrail "
                                "is a budget {max: MS}, never a min")  # fmt: skip
            known(body, where, {"metric", "max"})
            max_ms = number(required(body, "max", where), f"{where}.max")
            if max_ms <= 0:
                raise SpecError(f"{where}.max", f"must be a positive budget in ms, got {max_ms}")
            latency = _latency(latency_raw, max_ms)
            continue
        known(body, where, {"metric", "margin", "direction"})
        if metric not in metrics:
            raise SpecError(f"{where}.metric", f"{metric!r} is not among metrics")
        if any(g.metric == metric for g in relative):
            raise SpecError(f"{where}.metric", f"{metric!r} has two guardrails")
        margin = number(required(body, "margin", where), f"{where}.margin")
        if not 0 <= margin <= 1:
            raise SpecError(
                f"{where}.margin", f"must be between 0 and 1 (0.02 = 2 % of the champion), "
                f"got {margin}"
            )
        direction_raw = body.get("direction")
        if direction_raw is None:
            direction = metric_direction(metric)
        elif direction_raw in _DIRECTIONS:
            direction = _DIRECTIONS[str(direction_raw)]
        else:
            raise SpecError(f"{where}.direction", "must be 'higher' or 'lower'")
        contradiction = contradicted_direction(metric, direction)
        if contradiction is not None:
            raise SpecError(f"{where}.direction", contradiction)
        relative.append(RelativeGuardrail(metric=metric, margin=margin, direction=direction))
    if latency is None and latency_raw is not None:
        raise SpecError("latency", f"needs a guardrail {{metric: {LATENCY_METRIC}, max: MS}}")
    return tuple(relative), latency


def _latency(raw: Any, max_ms: float) -> LatencyBudget:
    body = mapping(raw if raw is not None else {}, "latency")
    known(body, "latency", {"candidates", "calls"})
    return LatencyBudget(
        max_ms=max_ms,
        candidates=integer(
            body.get("candidates", DEFAULT_CANDIDATES),
            "latency.candidates",
            low=1,
            high=MAX_CANDIDATES_PER_REQUEST,
        ),
        calls=integer(body.get("calls", 300), "latency.calls", low=20, high=100_000),
    )


def _bootstrap(raw: Any) -> BootstrapSpec:
    spec = dataclass_of(BootstrapSpec, mapping(raw, "bootstrap"), "bootstrap")
    integer(spec.resamples, "bootstrap.resamples", low=100, high=100_000)
    fraction(spec.confidence, "bootstrap.confidence")
    return spec


def _metric_list(raw: Any, where: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise SpecError(where, "must be a non-empty list of metric names")
    names = tuple(text(name, where) for name in raw)
    for name in names:
        if name not in allowed:
            raise SpecError(where, f"unknown metric {name!r} (known: {', '.join(allowed)})")
    if len(set(names)) != len(names):
        raise SpecError(where, "names a metric twice")
    return names
