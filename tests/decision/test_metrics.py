"""The one table of known directions: every metric an experiment can name is in it."""

from __future__ import annotations

from offline.experiment.spec import metric_names
from recmesh.decision import (
    Direction,
    contradicted_direction,
    known_direction,
    metric_direction,
)


def test_every_metric_an_experiment_can_name_has_a_known_direction() -> None:
    """Lower is better for popularity and latency only; cutoff metrics by their name."""
    lower = {
        name for name in metric_names(10) if known_direction(name) is Direction.LOWER_IS_BETTER
    }
    assert lower == {"popularity", "latency_p99_ms"}
    assert all(known_direction(name) is not None for name in metric_names(7))
    assert known_direction("ndcg@25") is Direction.HIGHER_IS_BETTER


def test_unknown_metrics_default_to_higher_and_are_never_contradicted() -> None:
    """A metric outside the table is higher-is-better by default and accepts either way."""
    assert known_direction("ctr") is None
    assert metric_direction("ctr") is Direction.HIGHER_IS_BETTER
    assert contradicted_direction("ctr", Direction.LOWER_IS_BETTER) is None


def test_a_contradicted_direction_names_the_metric_and_its_way() -> None:
    """coverage declared lower-is-better, or latency higher-is-better: a sentence naming both."""
    assert contradicted_direction("coverage", Direction.HIGHER_IS_BETTER) is None
    assert contradicted_direction("coverage", Direction.LOWER_IS_BETTER) == (
        "coverage gets better higher, so a guardrail on it cannot declare 'lower is better'"
    )
    assert "latency_p99_ms gets better lower" in str(
        contradicted_direction("latency_p99_ms", Direction.HIGHER_IS_BETTER)
    )
