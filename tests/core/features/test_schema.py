"""FeatureSchema: validation and the fingerprint encoding."""

from __future__ import annotations

import hashlib

import pytest

from recmesh.core.features.schema import FeatureSchema, schema_fingerprint


def test_fingerprint_is_sha256_of_names_joined_by_newlines() -> None:
    """The exact encoding: UTF-8 of "\\n".join(names), no trailing newline."""
    schema = FeatureSchema(("a", "b", "ç"))
    assert schema.fingerprint == hashlib.sha256("a\nb\nç".encode()).hexdigest()


def test_fingerprint_matches_the_ranking_services_check() -> None:
    """Ranking refuses a model whose manifest fingerprint differs from this one."""
    names = ("user_age", "item_n_interactions")
    assert FeatureSchema(names).fingerprint == schema_fingerprint(names)


def test_fingerprint_is_stable_across_instances() -> None:
    """Equal names give equal fingerprints."""
    assert FeatureSchema(("x", "y")).fingerprint == FeatureSchema(("x", "y")).fingerprint


def test_fingerprint_changes_on_rename_reorder_add_or_remove() -> None:
    """Any change of the ordered names is a schema change."""
    base = FeatureSchema(("x", "y", "z")).fingerprint
    for names in (("x", "y", "w"), ("y", "x", "z"), ("x", "y", "z", "w"), ("x", "y")):
        assert FeatureSchema(names).fingerprint != base


def test_joining_is_unambiguous() -> None:
    """("a", "b") and ("a\\nb",) cannot collide because names may not hold line breaks."""
    with pytest.raises(ValueError, match="line breaks"):
        FeatureSchema(("a\nb",))


@pytest.mark.parametrize("names", [(), ("a", "a"), ("",), ("a\r",)])
def test_invalid_names_are_refused(names: tuple[str, ...]) -> None:
    """Empty schemas, duplicates, empty names and line breaks."""
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        FeatureSchema(names)
