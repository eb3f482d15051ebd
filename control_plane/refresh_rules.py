"""When a refresh may serve without a new experiment: the refresh policy's rules.

A refresh is the serving version's model with a snapshot of newer data. It may
replace the champion only when it is that, and no more:

1. the same model: identical model bytes (sha256), feature schema, model kind
   and training data;
2. a snapshot that only adds: no (user, item) interaction, user or catalogue
   item of the champion's snapshot is missing, it differs from the champion, and
   its newest interaction is not further ahead of the champion's than the
   policy's `max_clock_advance_days`;
3. a probe that holds: the champion model's probe metric on the refreshed data
   is at least the value on the champion's own data, less the policy's
   relative margin.

`model_refusal`, `snapshot_refusal` and `probe_refusal` each return why their
rule fails, worded for the operator, or None.
"""

from __future__ import annotations

import math

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.refresh.probe_metric import ProbeMetricError, probe_k
from recmesh.rpc.errors import InvalidArgumentError

MAX_PROBE_USERS = 100_000
SECONDS_PER_DAY = 86_400


def validate_policy(policy: records_pb2.RefreshPolicy) -> None:
    """INVALID_ARGUMENT for a policy that could not be applied as written."""
    try:
        probe_k(policy.metric)
    except ProbeMetricError as exc:
        raise InvalidArgumentError(f"policy.metric: {exc}") from exc
    drop = policy.max_relative_drop
    if not (math.isfinite(drop) and 0.0 <= drop < 1.0):
        raise InvalidArgumentError(
            f"policy.max_relative_drop must be in [0, 1) (0.02 = 2 %), got {drop!r}"
        )
    if not 1 <= policy.probe_users <= MAX_PROBE_USERS:
        raise InvalidArgumentError(
            f"policy.probe_users must be between 1 and {MAX_PROBE_USERS}, got {policy.probe_users}"
        )
    advance = policy.max_clock_advance_days
    if not (math.isfinite(advance) and advance >= 0.0):
        raise InvalidArgumentError(
            f"policy.max_clock_advance_days must be >= 0 (0: no bound), got {advance!r}"
        )
    fraction = policy.holdout_fraction
    if not (math.isfinite(fraction) and 0.0 < fraction < 1.0):
        raise InvalidArgumentError(
            f"policy.holdout_fraction must be strictly between 0 and 1, got {fraction!r}"
        )


def model_refusal(
    champion: records_pb2.ModelVersion, refreshed: records_pb2.ModelVersion
) -> str | None:
    """Rule 1: why `refreshed` is not the champion's model, or None."""
    if refreshed.version_id == champion.version_id:
        return f"the refreshed bundle is {champion.version_id} itself: nothing new to serve"
    same = (
        ("model file", champion.model_sha256, refreshed.model_sha256),
        ("model kind", champion.kind, refreshed.kind),
        (
            "feature schema",
            champion.feature_schema_fingerprint,
            refreshed.feature_schema_fingerprint,
        ),
        (
            "training data",
            champion.training_dataset_fingerprint,
            refreshed.training_dataset_fingerprint,
        ),
    )
    for what, want, got in same:
        if want != got:
            return (
                f"a refresh keeps the champion's {what}, but {refreshed.version_id} has "
                f"{str(got)[:16] or 'none'} where {champion.version_id} has "
                f"{str(want)[:16] or 'none'}: a new model reaches serving only through an "
                "experiment"
            )
    return None


def snapshot_refusal(
    comparison: records_pb2.SnapshotComparison, policy: records_pb2.RefreshPolicy
) -> str | None:
    """Rule 2: why the refreshed snapshot lost data, or moved its clock further than the
    policy allows, or None."""
    lost = (
        ("interactions", comparison.lost_interactions, comparison.previous_interactions),
        ("users", comparison.vanished_users, comparison.previous_users),
        ("catalogue items", comparison.vanished_items, comparison.previous_items),
    )
    for what, missing, had in lost:
        if missing:
            return (
                f"the refreshed snapshot lost {missing} of the champion's {had} {what}: a "
                "refresh may only add data (was the interaction log truncated, or built "
                "from another dataset?)"
            )
    if comparison.refreshed_now < comparison.previous_now:
        return (
            f"the refreshed snapshot's newest interaction ({comparison.refreshed_now}) is older "
            f"than the serving one's ({comparison.previous_now}): it cannot hold all its data"
        )
    advance_days = (comparison.refreshed_now - comparison.previous_now) / SECONDS_PER_DAY
    bound = policy.max_clock_advance_days
    if bound > 0 and advance_days > bound:
        return (
            f"the refreshed snapshot's newest interaction is {advance_days:,.1f} days after the "
            f"serving one's, more than the policy's {bound:g}: time-decayed popularity and "
            "affinity would treat everything older as stale (interactions stamped with today's "
            "date on an old dataset?); raise --max-clock-advance-days if the gap is real"
        )
    return None


def probe_refusal(policy: records_pb2.RefreshPolicy, probe: records_pb2.RefreshProbe) -> str | None:
    """Rule 3: why the probe does not satisfy the policy, or None."""
    if probe.metric != policy.metric:
        return f"the probe measured {probe.metric!r}, the policy asks for {policy.metric!r}"
    if probe.users < 1:
        return "the probe measured no users"
    if probe.users > policy.probe_users:
        return f"the probe measured {probe.users} users, the policy draws {policy.probe_users}"
    if probe.seed != policy.seed or probe.holdout_fraction != policy.holdout_fraction:
        return (
            f"the probe was drawn with seed {probe.seed} and hold-out "
            f"{probe.holdout_fraction:g}, the policy says seed {policy.seed} and "
            f"{policy.holdout_fraction:g}"
        )
    for name, value in (
        ("reference_value", probe.reference_value),
        ("refreshed_value", probe.refreshed_value),
    ):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            return f"probe.{name} {value!r} is not an NDCG in [0, 1]"
    floor = probe.reference_value * (1.0 - policy.max_relative_drop)
    if probe.refreshed_value < floor:
        return (
            f"{policy.metric} on the probe fell from {probe.reference_value:.4f} to "
            f"{probe.refreshed_value:.4f}, below the policy's floor {floor:.4f} "
            f"(at most {policy.max_relative_drop:.1%} lower, {probe.users} users)"
        )
    return None
