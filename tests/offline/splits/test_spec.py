"""SplitSpec: parsing, the canonical string form, validation, and applying a spec."""

from __future__ import annotations

import pytest

from offline.errors import SplitSpecError
from offline.splits.spec import SplitKind, SplitSpec
from offline.splits.stratified import stratified_split
from offline.splits.temporal import global_time_split, per_user_time_split
from tests.offline.factories import interactions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("user_stratified:0.75:seed=42", SplitSpec(SplitKind.USER_STRATIFIED, 0.75, 42)),
        ("item_stratified:0.8:seed=7", SplitSpec(SplitKind.ITEM_STRATIFIED, 0.8, 7)),
        ("user_time:0.2", SplitSpec(SplitKind.USER_TIME, 0.2)),
        ("global_time:0.1", SplitSpec(SplitKind.GLOBAL_TIME, 0.1)),
        ("user_stratified:.75", SplitSpec(SplitKind.USER_STRATIFIED, 0.75, 42)),
        ("  global_time:2e-1 ", SplitSpec(SplitKind.GLOBAL_TIME, 0.2)),
    ],
)
def test_parse_reads_every_kind(text: str, expected: SplitSpec) -> None:
    """Each documented form parses; a stratified spec without seed gets seed 42."""
    assert SplitSpec.parse(text) == expected


@pytest.mark.parametrize(
    "spec",
    [
        SplitSpec(SplitKind.USER_STRATIFIED, 0.75, 42),
        SplitSpec(SplitKind.ITEM_STRATIFIED, 1e-05, 0),
        SplitSpec(SplitKind.USER_TIME, 0.2),
        SplitSpec(SplitKind.GLOBAL_TIME, 0.123456789),
    ],
)
def test_canonical_string_round_trips(spec: SplitSpec) -> None:
    """parse(str(spec)) gives back the same spec."""
    assert SplitSpec.parse(str(spec)) == spec


def test_canonical_strings_are_the_documented_ones() -> None:
    """str() writes kind:fraction[:seed=n]."""
    assert str(SplitSpec(SplitKind.USER_STRATIFIED, 0.75, 42)) == "user_stratified:0.75:seed=42"
    assert str(SplitSpec(SplitKind.USER_TIME, 0.2)) == "user_time:0.2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "unknown split kind ''"),
        ("random:0.5", "unknown split kind 'random'"),
        ("user_time", "missing the fraction"),
        ("user_time:", "missing the fraction"),
        ("user_time:abc", "held-out fraction 'abc' is not a decimal number"),
        ("user_stratified:nan:seed=1", "train ratio 'nan' is not a decimal number"),
        ("user_stratified:-0.5", "not a decimal number"),
        ("user_time:1", "must be strictly between 0 and 1"),
        ("user_stratified:0:seed=1", "must be strictly between 0 and 1"),
        ("user_time:0.2:seed=1", "user_time takes no options"),
        ("user_stratified:0.75:seed", "not of the form seed=<n>"),
        ("user_stratified:0.75:shuffle=1", "unknown option 'shuffle'"),
        ("user_stratified:0.75:seed=1:seed=2", "seed is given twice"),
        ("user_stratified:0.75:seed=-1", "seed '-1' is not a non-negative integer"),
        ("user_stratified:0.75:seed=4294967296", "must be below 2\\*\\*32"),
    ],
)
def test_bad_specs_are_rejected_naming_the_problem(text: str, message: str) -> None:
    """Every malformed spec raises SplitSpecError, a ValueError, saying what is wrong."""
    with pytest.raises(SplitSpecError, match=message) as caught:
        SplitSpec.parse(text)
    assert isinstance(caught.value, ValueError)
    assert repr(text) in str(caught.value)


def test_constructor_validates_fraction_and_seed() -> None:
    """Random kinds need a seed, time kinds refuse one, fractions lie in (0, 1)."""
    with pytest.raises(ValueError, match="needs a seed"):
        SplitSpec(SplitKind.USER_STRATIFIED, 0.75)
    with pytest.raises(ValueError, match="takes no seed"):
        SplitSpec(SplitKind.GLOBAL_TIME, 0.2, seed=1)
    with pytest.raises(ValueError, match="strictly between"):
        SplitSpec(SplitKind.USER_TIME, 1.0)


def test_apply_runs_the_split_the_spec_names() -> None:
    """apply() gives the same parts as calling the splitter directly."""
    data = interactions([(u % 4, i, 1.0, (i * 7) % 11) for i, u in enumerate(range(40))])
    expected = {
        "user_stratified:0.75:seed=3": stratified_split(data, 0.75, 3, by="user"),
        "item_stratified:0.5:seed=3": stratified_split(data, 0.5, 3, by="item"),
        "user_time:0.25": per_user_time_split(data, 0.25),
        "global_time:0.25": global_time_split(data, 0.25),
    }
    for text, (train, test) in expected.items():
        got_train, got_test = SplitSpec.parse(text).apply(data)
        assert got_train.items.tolist() == train.items.tolist(), text
        assert got_test.items.tolist() == test.items.tolist(), text
