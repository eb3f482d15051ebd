"""recmesh/wire/ids.py: the one check of user ids and version ids, each failure an
InvalidArgumentError naming the field."""

from __future__ import annotations

import pytest

from control_plane.validation import require_version_id
from recmesh.bundle.manifest import version_id_of
from recmesh.rpc.errors import InvalidArgumentError
from recmesh.wire.ids import (
    check_logged_user_id,
    check_serving_version,
    check_user_id,
    check_version_id,
)
from recmesh.wire.limits import MAX_USER_ID_LENGTH


@pytest.mark.parametrize("user_id", ["196", "no-such-user", " 7 ", "x" * MAX_USER_ID_LENGTH, "é"])
def test_user_ids_any_service_accepts(user_id: str) -> None:
    assert check_user_id(user_id) == user_id


@pytest.mark.parametrize(
    ("user_id", "message"),
    [
        ("", r"^user_id is empty; pass the id of the user to recommend for$"),
        ("  \t", "user_id is empty"),
        ("x" * (MAX_USER_ID_LENGTH + 1), r"user_id is 129 characters long; at most 128 allowed"),
        ("a\nb", "user_id contains control characters"),
        ("a\x00", "user_id contains control characters"),
    ],
)
def test_bad_user_ids_are_named(user_id: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        check_user_id(user_id)


def test_the_field_is_named_as_the_caller_says() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^interactions\[3\]\.user_id is empty"):
        check_user_id("", "interactions[3].user_id")


def test_logged_user_ids_are_64_bit_integers() -> None:
    """The interaction log stores users as int64: a user id that is a decimal integer."""
    assert check_logged_user_id("196") == 196
    assert check_logged_user_id(str(2**63 - 1)) == 2**63 - 1
    with pytest.raises(InvalidArgumentError, match=r"^u 'abc' is not a decimal integer$"):
        check_logged_user_id("abc", "u")
    with pytest.raises(InvalidArgumentError, match="u does not fit in 64 bits"):
        check_logged_user_id(str(2**63), "u")
    with pytest.raises(InvalidArgumentError, match=r"^u '' is not a decimal integer$"):
        check_logged_user_id("", "u")
    with pytest.raises(InvalidArgumentError, match="at most 128 allowed"):
        check_logged_user_id("1" * 200, "u")


def test_a_serving_version_must_be_set() -> None:
    """Downstream services accept any version a pointer may name; an empty one is the
    front's mistake."""
    assert check_serving_version("sv-a") == "sv-a"
    with pytest.raises(InvalidArgumentError, match="serving_version is empty; the front resolves"):
        check_serving_version("")


def test_version_ids_are_sv_and_16_hex_digits() -> None:
    """What recmesh/bundle/manifest.version_id_of makes is accepted; anything else is
    refused, quoting at most 40 characters of it."""
    good = version_id_of("0123456789abcdef" * 4)
    assert check_version_id(good, "target_version") == good
    assert require_version_id(good, "target_version") == good
    for bad in ("model-7", "sv-0011", "sv-00112233445566AA", good + "\n", " " + good):
        with pytest.raises(InvalidArgumentError, match="is not a serving version id"):
            check_version_id(bad, "target_version")
    with pytest.raises(InvalidArgumentError, match=r"^spec\.challenger_version is empty$"):
        check_version_id(" ", "spec.challenger_version")
    with pytest.raises(InvalidArgumentError) as caught:
        check_version_id("x" * 20_000, "v")
    assert len(str(caught.value)) < 120
