"""The options of issue 19's serving fixes reach the servers' configs: the front's
--rollout-warmup-seconds (services/recommend/__main__.py) and ranking's
--shadow-shed-above (services/ranking/__main__.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import services.ranking.__main__ as ranking_main
import services.recommend.__main__ as recommend_main
from services.ranking.scoring_lanes import DEFAULT_SHED_ABOVE
from services.recommend.arms import DEFAULT_WARMUP_S
from tests.pointer_signing import serving_trust_arguments


def _serving(tmp_path: Path) -> list[str]:
    """What a serving process's command line needs besides the option under test."""
    password = tmp_path / "etcd-password"
    password.write_text("secret\n")
    return [
        *serving_trust_arguments(tmp_path),
        "--etcd-user",
        "serving",
        "--etcd-password-file",
        str(password),
    ]


def _captured(module: Any, monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> Any:
    """The config `main(argv)` hands run_service's factory."""
    seen: dict[str, Any] = {}

    def run_service(component: str, common: Any, factory: Any) -> int:
        seen["factory"] = factory
        return 0

    monkeypatch.setattr(module, "run_service", run_service)
    created: dict[str, Any] = {}

    def create_server(config: Any, tracer_provider: Any, metrics: Any) -> None:
        created["config"] = config

    monkeypatch.setattr(module, "create_server", create_server)
    assert module.main(argv) == 0
    seen["factory"](None, None)
    return created["config"]


def test_the_front_takes_its_rollout_warm_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Default 3 s; a value given reaches RecommendConfig; a negative one is refused."""
    imp = [*_serving(tmp_path), "--impressions", str(tmp_path / "imp.jsonl")]
    assert _captured(recommend_main, monkeypatch, imp).rollout_warmup_s == DEFAULT_WARMUP_S == 3.0
    config = _captured(recommend_main, monkeypatch, [*imp, "--rollout-warmup-seconds", "0.5"])
    assert config.rollout_warmup_s == 0.5
    with pytest.raises(SystemExit):
        recommend_main.main([*imp, "--rollout-warmup-seconds", "-1"])


def test_ranking_takes_its_shadow_shed_threshold(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Default 2; a value given reaches RankingConfig; a negative one is refused."""
    trust = _serving(tmp_path)
    assert _captured(ranking_main, monkeypatch, trust).shadow_shed_above == DEFAULT_SHED_ABOVE == 2
    given = _captured(ranking_main, monkeypatch, [*trust, "--shadow-shed-above", "5"])
    assert given.shadow_shed_above == 5
    with pytest.raises(SystemExit):
        ranking_main.main([*trust, "--shadow-shed-above", "-1"])
