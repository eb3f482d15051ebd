"""The refresh policy's rules, as pure functions."""

from __future__ import annotations

import pytest

from control_plane.refresh_rules import (
    model_refusal,
    probe_refusal,
    snapshot_refusal,
    validate_policy,
)
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.refresh.probe_metric import probe_k
from recmesh.rpc.errors import InvalidArgumentError


def _policy(**fields: object) -> records_pb2.RefreshPolicy:
    policy = records_pb2.RefreshPolicy(
        metric="ndcg@10",
        max_relative_drop=0.02,
        probe_users=200,
        holdout_fraction=0.2,
        seed=1,
        max_clock_advance_days=30,
    )
    for name, value in fields.items():
        setattr(policy, name, value)
    return policy


def _model(version: str, **fields: object) -> records_pb2.ModelVersion:
    model = records_pb2.ModelVersion(
        version_id=version,
        kind=records_pb2.MODEL_KIND_XGBOOST,
        model_sha256="a" * 64,
        feature_schema_fingerprint="s" * 64,
        training_dataset_fingerprint="t" * 64,
    )
    for name, value in fields.items():
        setattr(model, name, value)
    return model


def test_policies_that_cannot_be_applied_are_invalid() -> None:
    """Metric, margin, probe size and hold-out share are checked, each by name."""
    validate_policy(_policy())
    assert probe_k("ndcg@5") == 5
    for fields, named in (
        ({"metric": "recall@10"}, "metric"),
        ({"metric": "ndcg@0"}, "metric"),
        ({"max_relative_drop": -0.1}, "max_relative_drop"),
        ({"max_relative_drop": float("nan")}, "max_relative_drop"),
        ({"probe_users": 0}, "probe_users"),
        ({"holdout_fraction": 1.0}, "holdout_fraction"),
        ({"max_clock_advance_days": -1.0}, "max_clock_advance_days"),
    ):
        with pytest.raises(InvalidArgumentError, match=named):
            validate_policy(_policy(**fields))


def test_a_refresh_keeps_the_champions_model_and_schema() -> None:
    """Another model file, kind, schema or training set is a new model, not a refresh."""
    champion = _model("sv-1")
    assert model_refusal(champion, _model("sv-2")) is None
    assert "nothing new" in (model_refusal(champion, _model("sv-1")) or "")
    for field, value in (
        ("model_sha256", "b" * 64),
        ("kind", records_pb2.MODEL_KIND_BASELINE),
        ("feature_schema_fingerprint", "x" * 64),
        ("training_dataset_fingerprint", "u" * 64),
    ):
        refusal = model_refusal(champion, _model("sv-2", **{field: value}))
        assert refusal is not None
        assert "only through an experiment" in refusal


def test_a_snapshot_that_lost_anything_is_refused_with_the_count() -> None:
    """Lost interactions, users or items are each refused, naming how many of how many."""
    whole = records_pb2.SnapshotComparison(
        previous_interactions=10, refreshed_interactions=12, previous_users=3,
        refreshed_users=4, previous_items=5, refreshed_items=5,
        previous_now=1_000_000, refreshed_now=1_000_000 + 86_400,
    )  # fmt: skip
    policy = _policy()
    assert snapshot_refusal(whole, policy) is None
    for field, words in (
        ("lost_interactions", "lost 2 of the champion's 10 interactions"),
        ("vanished_users", "lost 2 of the champion's 3 users"),
        ("vanished_items", "lost 2 of the champion's 5 catalogue items"),
    ):
        lossy = records_pb2.SnapshotComparison()
        lossy.CopyFrom(whole)
        setattr(lossy, field, 2)
        assert words in (snapshot_refusal(lossy, policy) or "")


def test_the_data_clock_may_not_run_backwards_or_jump_past_the_policy() -> None:
    """A newest interaction older than the serving one's is refused; one 31 days ahead is
    refused under a 30-day policy and allowed with no bound (0)."""
    ahead = records_pb2.SnapshotComparison(previous_now=0, refreshed_now=31 * 86_400)
    assert "31.0 days after" in (snapshot_refusal(ahead, _policy()) or "")
    assert snapshot_refusal(ahead, _policy(max_clock_advance_days=0.0)) is None
    behind = records_pb2.SnapshotComparison(previous_now=100, refreshed_now=99)
    assert "older than the serving one's" in (snapshot_refusal(behind, _policy()) or "")


def test_the_probe_may_fall_only_within_the_margin() -> None:
    """2% below the reference passes a 2% policy; more does not; a wrong metric or a
    value outside [0, 1] is refused."""
    policy = _policy()

    def probe(reference: float, refreshed: float, **fields: object) -> records_pb2.RefreshProbe:
        message = records_pb2.RefreshProbe(
            metric="ndcg@10",
            users=200,
            reference_value=reference,
            refreshed_value=refreshed,
            seed=1,
            holdout_fraction=0.2,
        )
        for name, value in fields.items():
            setattr(message, name, value)
        return message

    assert probe_refusal(policy, probe(0.40, 0.40 * 0.98 + 1e-9)) is None
    assert probe_refusal(policy, probe(0.40, 0.45)) is None
    assert "below the policy's floor" in (probe_refusal(policy, probe(0.40, 0.38)) or "")
    assert "asks for" in (probe_refusal(policy, probe(0.4, 0.4, metric="ndcg@5")) or "")
    assert "no users" in (probe_refusal(policy, probe(0.4, 0.4, users=0)) or "")
    assert "not an NDCG" in (probe_refusal(policy, probe(0.4, 1.5)) or "")
    assert "draws 200" in (probe_refusal(policy, probe(0.4, 0.4, users=201)) or "")
    assert "seed 2" in (probe_refusal(policy, probe(0.4, 0.4, seed=2)) or "")
    assert "hold-out 0.3" in (probe_refusal(policy, probe(0.4, 0.4, holdout_fraction=0.3)) or "")
