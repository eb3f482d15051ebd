"""The front splits the caller's deadline into per-hop deadlines, keeping a reserve."""

from __future__ import annotations

import pytest

from services.recommend.budget import BudgetPolicy, plan_budget

POLICY = BudgetPolicy()


def test_the_reserve_is_a_share_of_the_deadline() -> None:
    budget = plan_budget(0.2, POLICY)
    assert budget.total_s == pytest.approx(0.16)
    assert budget.candidates_s == pytest.approx(0.064)
    assert budget.ranking_s(0.01) == pytest.approx(0.15)


def test_a_short_deadline_keeps_at_least_the_fixed_reserve() -> None:
    budget = plan_budget(0.008, POLICY)
    assert budget.total_s == pytest.approx(0.006)
    assert budget.usable


def test_too_little_time_is_not_usable() -> None:
    assert not plan_budget(0.004, POLICY).usable
    assert not plan_budget(0.0, POLICY).usable


def test_no_deadline_uses_the_default_and_long_ones_are_capped() -> None:
    assert plan_budget(None, POLICY).total_s == pytest.approx(0.4)
    assert plan_budget(60.0, POLICY).total_s == pytest.approx(1.6)
