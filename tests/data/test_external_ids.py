"""Tests for recmesh.data.external_ids."""

from __future__ import annotations

import numpy as np
import pytest

from recmesh.data.external_ids import (
    CodeCollisionError,
    ExternalIds,
    NameConflictError,
    encode,
    external_code,
)


def test_a_code_depends_on_the_string_alone() -> None:
    """A string's code is the same in any batch, non-negative, and differs between strings."""
    codes, _ = encode(["b", "a", "b"])
    alone, _ = encode(["b"])
    assert codes[0] == codes[2] == alone[0] == external_code("b")
    assert codes[1] == external_code("a") != codes[0]
    assert 0 <= external_code("b") < 2**63
    assert external_code("spotify:track:4uLU6hMCjMI75M1A2tKUQC") == external_code(
        "spotify:track:4uLU6hMCjMI75M1A2tKUQC"
    )


def test_the_mapping_is_sorted_by_code_and_names_each_code() -> None:
    """The mapping lists each distinct string once, by increasing code; unknown codes give ""."""
    codes, mapping = encode(["x", "y", "z", "x"])
    assert mapping.codes.tolist() == sorted({int(c) for c in codes})
    assert mapping.names_of(codes) == ["x", "y", "z", "x"]
    assert mapping.names_of(np.array([12345], dtype=np.int64)) == [""]


def test_merged_mappings_hold_both() -> None:
    """Two mappings merge into one that names the codes of either."""
    _, first = encode(["a", "b"])
    _, second = encode(["b", "c"])
    merged = first.merged(second)
    assert sorted(merged.names) == ["a", "b", "c"]
    assert np.all(np.diff(merged.codes) > 0)


def test_merging_refuses_one_code_with_two_names() -> None:
    """A code named differently by the two mappings (the log's and the metadata file's
    ids colliding) is refused, not resolved by keeping the first name; the same name in
    both is fine."""
    first = ExternalIds(codes=np.array([3, 7], dtype=np.int64), names=("a", "p"))
    same = ExternalIds(codes=np.array([7], dtype=np.int64), names=("p",))
    other = ExternalIds(codes=np.array([5, 7], dtype=np.int64), names=("b", "q"))
    assert first.merged(same).names == ("a", "p")
    with pytest.raises(NameConflictError) as caught:
        first.merged(other)
    assert (caught.value.code, caught.value.first, caught.value.second) == (7, "p", "q")


def test_trailing_nul_characters_keep_ids_apart() -> None:
    """ "a" and "a\\x00" are two ids with two codes and keep their own names (a NumPy
    string array would drop the NUL and make them one)."""
    codes, mapping = encode(["a", "a\x00", "a"])
    assert codes.tolist() == [external_code("a"), external_code("a\x00"), external_code("a")]
    assert mapping.names_of(codes) == ["a", "a\x00", "a"]


def test_a_collision_is_refused() -> None:
    """Two names with one code cannot both be ids: refused at the second's first row
    (a real collision of the 63-bit hash cannot be found, so a coarse code is given)."""
    with pytest.raises(CodeCollisionError) as caught:
        encode(["p", "p", "q"], code=lambda name: 7)
    assert caught.value.row == 2
    assert {caught.value.first, caught.value.second} == {"p", "q"}


def test_an_empty_mapping_names_nothing() -> None:
    """A mapping without codes answers "" for every code."""
    empty = ExternalIds(codes=np.zeros(0, dtype=np.int64), names=())
    assert empty.names_of(np.array([1, 2], dtype=np.int64)) == ["", ""]
