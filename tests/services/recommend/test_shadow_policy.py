"""When a shadow is shed (services/recommend/shadow_policy.py)."""

from __future__ import annotations

import pytest

from services.recommend.shadow_policy import BUSY, CPU_BUDGET, IN_FLIGHT, ShadowPolicy

POLICY = ShadowPolicy(cpu_budget=0.5, max_in_flight=4, busy_fraction=0.25)


def _reason(champion: int, shadows: int, cores: float) -> str | None:
    return POLICY.shed_reason(
        champion_in_flight=champion,
        champion_limit=32,
        shadows_in_flight=shadows,
        cpu_cores=lambda: cores,
    )


def test_a_quiet_front_under_budget_runs_the_shadow() -> None:
    assert _reason(champion=8, shadows=3, cores=0.4) is None


def test_busy_in_flight_and_cpu_are_checked_in_that_order() -> None:
    assert _reason(champion=9, shadows=4, cores=2.0) == BUSY
    assert _reason(champion=0, shadows=4, cores=2.0) == IN_FLIGHT
    assert _reason(champion=0, shadows=0, cores=0.5) == CPU_BUDGET


def test_a_zero_budget_sheds_every_shadow() -> None:
    policy = ShadowPolicy(cpu_budget=0.0)
    reason = policy.shed_reason(
        champion_in_flight=0, champion_limit=32, shadows_in_flight=0, cpu_cores=lambda: 0.0
    )
    assert reason == CPU_BUDGET


def test_a_negative_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="CPU budget"):
        ShadowPolicy(cpu_budget=-0.1)
