"""The proto comments that name a limit name the value recmesh/wire/limits.py holds, and
every limit there is documented on the fields it bounds, so the two cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recmesh.wire import limits

PROTOS = Path(__file__).resolve().parents[2] / "protos"
#: "NAME = 1000" inside a // comment.
NAMED_LIMIT = re.compile(r"\b([A-Z][A-Z0-9_]*) = (\d[\d_,]*)\b")


def _limits() -> dict[str, int]:
    return {
        name: value
        for name, value in vars(limits).items()
        if name.isupper() and isinstance(value, int)
    }


def _named_in_comments() -> list[tuple[str, str, int]]:
    """(where, name, value) for each limit a proto comment names with its value."""
    found = []
    for proto in sorted(PROTOS.rglob("*.proto")):
        for number, line in enumerate(proto.read_text().splitlines(), start=1):
            _, slashes, comment = line.partition("//")
            if not slashes:
                continue
            for name, value in NAMED_LIMIT.findall(comment):
                where = f"{proto.relative_to(PROTOS)}:{number}"
                found.append((where, name, int(value.replace("_", "").replace(",", ""))))
    return found


def test_proto_comments_name_the_values_limits_holds() -> None:
    known = _limits()
    named = _named_in_comments()
    assert named, "no proto comment names a limit"
    for where, name, value in named:
        assert name in known, f"{where} names {name}, which recmesh/wire/limits.py lacks"
        assert value == known[name], f"{where}: {name} = {value}, limits.py has {known[name]}"


@pytest.mark.parametrize("name", sorted(_limits()))
def test_every_limit_is_documented_on_a_field(name: str) -> None:
    assert name in {named for _, named, _ in _named_in_comments()}, (
        f"no proto comment names {name} = {_limits()[name]}"
    )


def test_the_candidate_limits_nest() -> None:
    """Whatever the candidates service may be asked for by default, and may send, the
    receivers decode."""
    assert (
        limits.DEFAULT_CANDIDATES
        <= limits.MAX_CANDIDATES_PER_REQUEST
        <= limits.MAX_CANDIDATES_ON_WIRE
    )


def test_a_drifted_comment_is_caught() -> None:
    """The parser sees a value that disagrees (the check above is not vacuous)."""
    assert NAMED_LIMIT.findall("// 1 <= k <= MAX_K = 999 (recmesh/wire/limits.py).") == [
        ("MAX_K", "999")
    ]
