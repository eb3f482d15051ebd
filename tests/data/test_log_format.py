"""Tests for recmesh.data.log_format."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recmesh.data.log_format import IdKinds, Weighting, format_of_name


def test_weightings_parse_and_print_back() -> None:
    """Each written weighting parses and prints back as written."""
    for text in ("none", "log1p", "binary", "threshold:4", "threshold:3.5"):
        assert Weighting.parse(text).text == text


@pytest.mark.parametrize("text", ["log2", "threshold", "threshold:high", "binary:1", ""])
def test_unknown_weightings_are_refused(text: str) -> None:
    """Anything else is a ValueError that lists the known ones or shows the form."""
    with pytest.raises(ValueError, match="threshold"):
        Weighting.parse(text)


def test_weightings_transform_counts() -> None:
    """none keeps, log1p compresses counts, binary flattens, threshold keeps rows >= T."""
    counts = np.array([0.0, 3.0, 100.0], dtype=np.float32)
    weights, keep = Weighting.parse("none").apply(counts)
    assert weights.tolist() == [0.0, 3.0, 100.0]
    assert keep.all()
    weights, keep = Weighting.parse("log1p").apply(counts)
    assert weights.tolist() == pytest.approx([0.0, math.log(4), math.log(101)])
    weights, keep = Weighting.parse("binary").apply(counts)
    assert weights.tolist() == [1.0, 1.0, 1.0]
    assert keep.all()
    weights, keep = Weighting.parse("threshold:3").apply(counts)
    assert keep.tolist() == [False, True, True]
    assert weights[keep].tolist() == [1.0, 1.0]


def test_formats_by_extension() -> None:
    """.csv, .tsv/.tab and .parquet/.pq name their format, case-insensitively; others none."""
    assert format_of_name("a.CSV") == "csv"
    assert format_of_name("a.tab") == "tsv"
    assert format_of_name("events.pq") == "parquet"
    assert format_of_name("user_artists.dat") is None


def test_id_kinds_parse_and_print_back() -> None:
    """`integer`, `string` or per column; a role left out is integer."""
    assert IdKinds.parse("string") == IdKinds("string", "string")
    assert IdKinds.parse("item=string") == IdKinds("integer", "string")
    assert IdKinds.parse(" user=string , item=integer ") == IdKinds("string", "integer")
    for text in ("integer", "string", "user=string,item=integer", "user=integer,item=string"):
        assert IdKinds.parse(text).text == text


@pytest.mark.parametrize(
    "text", ["", "str", "track=string", "user=uuid", "user=string,user=string"]
)
def test_unknown_id_kinds_are_refused(text: str) -> None:
    """Anything else is a ValueError showing the forms."""
    with pytest.raises(ValueError, match="integer, string"):
        IdKinds.parse(text)
