"""The one check of the user ids and version ids a request names, for every service.

The front (Recommend and RecordInteractions), candidates, features and ranking check
user ids and serving versions here, and the control plane checks the serving version
ids callers name (a challenger, a rollback target, a refresh base). Each failure is an
InvalidArgumentError whose message names the field and says what to send instead.
"""

from __future__ import annotations

import re

from recmesh.rpc.errors import InvalidArgumentError
from recmesh.wire.limits import MAX_USER_ID_LENGTH

#: A serving version id: "sv-" and the first 16 hex digits of its bundle manifest's
#: sha256 (recmesh/bundle/manifest.version_id_of).
SERVING_VERSION_ID = re.compile(r"sv-[0-9a-f]{16}")

#: How much of a refused value a message quotes.
_QUOTED = 40

_INT64_MAX = 2**63 - 1


def check_user_id(user_id: str, field: str = "user_id") -> str:
    """user_id when it is a user id any serving RPC accepts: not blank, at most
    MAX_USER_ID_LENGTH characters, printable. Raises InvalidArgumentError naming field."""
    if not user_id.strip():
        raise InvalidArgumentError(f"{field} is empty; pass the id of the user to recommend for")
    if len(user_id) > MAX_USER_ID_LENGTH:
        raise InvalidArgumentError(
            f"{field} is {len(user_id)} characters long; at most {MAX_USER_ID_LENGTH} allowed"
        )
    if not user_id.isprintable():
        raise InvalidArgumentError(f"{field} contains control characters")
    return user_id


def check_logged_user_id(user_id: str, field: str = "user_id") -> int:
    """The user of an interaction for the interaction log: a user id (check_user_id) that
    is a decimal integer fitting in 64 bits, as the snapshot stores users. Raises
    InvalidArgumentError naming field."""
    try:
        user = int(user_id)
    except ValueError:
        raise InvalidArgumentError(
            f"{field} {user_id[:_QUOTED]!r} is not a decimal integer"
        ) from None
    check_user_id(user_id, field)
    if abs(user) > _INT64_MAX:
        raise InvalidArgumentError(f"{field} does not fit in 64 bits")
    return user


def check_serving_version(serving_version: str, field: str = "serving_version") -> str:
    """The serving version a downstream request (GetCandidates, GetFeatures, Rank) names:
    set, since the front resolves it once per request. Any version a pointer may name is
    accepted here; one this replica has not loaded is answered by its version registry."""
    if not serving_version:
        raise InvalidArgumentError(f"{field} is empty; the front resolves it")
    return serving_version


def check_version_id(version_id: str, field: str = "version_id") -> str:
    """version_id when it is a serving version id (SERVING_VERSION_ID), as a caller names
    one to the control plane. Raises InvalidArgumentError naming field."""
    if not version_id.strip():
        raise InvalidArgumentError(f"{field} is empty")
    if not SERVING_VERSION_ID.fullmatch(version_id):
        raise InvalidArgumentError(
            f"{field} {version_id[:_QUOTED]!r} is not a serving version id (sv- and 16 hex digits)"
        )
    return version_id
