"""SnapshotConfig: defaults, validation and its JSON form."""

from __future__ import annotations

import json

import pytest

from recmesh.snapshot.config import SnapshotConfig
from recmesh.snapshot.errors import SnapshotFormatError


def test_defaults_are_the_documented_ones() -> None:
    """Affinity half-life 30 days, popularity a year, Jaccard similarity over pairs seen by
    two users or more, 50 neighbours per item, 32 latent factors shrunk by 1000."""
    config = SnapshotConfig()
    assert config.affinity_half_life_days == 30.0
    assert config.popularity_half_life_days == 365.0
    assert config.neighbors_per_item == 50
    assert config.similarity == "jaccard"
    assert config.min_cooccurrence == 2
    assert config.recent_window_days == 30.0
    assert config.latent_factors == 32
    assert config.latent_shrinkage == 1000.0


def test_json_round_trip_is_exact() -> None:
    """to_json then from_json gives an equal config."""
    config = SnapshotConfig(
        affinity_half_life_days=7.5,
        similarity="lift",
        neighbors_per_item=3,
        min_cooccurrence=1,
        latent_factors=0,
        latent_shrinkage=2.5,
    )
    assert SnapshotConfig.from_json(config.to_json()) == config


def test_json_is_canonical() -> None:
    """Keys are sorted and there is no whitespace, so equal configs give equal text."""
    text = SnapshotConfig().to_json()
    assert " " not in text
    assert list(json.loads(text)) == sorted(json.loads(text))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"affinity_half_life_days": 0.0},
        {"popularity_half_life_days": -1.0},
        {"similarity": "cosine"},
        {"neighbors_per_item": 0},
        {"min_cooccurrence": 0},
        {"recent_window_days": 0.0},
        {"latent_factors": -1},
        {"latent_shrinkage": -1.0},
        {"latent_shrinkage": float("nan")},
        {"latent_shrinkage": float("inf")},
    ],
)
def test_invalid_values_are_refused(kwargs: dict[str, object]) -> None:
    """Non-positive half-lives or windows, unknown similarity kinds, empty neighbourhoods,
    a negative number of factors, a negative or non-finite shrinkage."""
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        SnapshotConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"similarity": "jaccard"}',
        SnapshotConfig().to_json().replace('"neighbors_per_item":50', '"neighbors_per_item":"50"'),
        SnapshotConfig().to_json().replace('"neighbors_per_item":50', '"neighbors_per_item":true'),
        SnapshotConfig().to_json().replace('"jaccard"', '"cosine"'),
        SnapshotConfig().to_json().replace('"latent_factors":32', '"latent_factors":32.5'),
        SnapshotConfig().to_json().replace('"latent_shrinkage":1000.0', '"latent_shrinkage":"1"'),
        SnapshotConfig().to_json()[:-1] + ',"extra":1}',
    ],
)
def test_malformed_json_raises_snapshot_format_error(text: str) -> None:
    """Anything but exactly the config's fields with valid values is a format error."""
    with pytest.raises(SnapshotFormatError):
        SnapshotConfig.from_json(text)
