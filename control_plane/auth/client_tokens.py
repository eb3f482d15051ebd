"""Client tokens on a local install: one file per principal, `tokens/NAME.token` (mode 0600).

The file holds the bearer token alone (one line). The CLI reads only the file of
the principal `--as` names, so giving each person their own file (owned by
their own account) is what keeps one person from acting as another; on a
single-user demo install one account owns every file, which demonstrates the
rules but cannot enforce them (docs/control-plane.md, "The trust model").
"""

from __future__ import annotations

import re
from pathlib import Path

SUFFIX = ".token"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")


class ClientTokensError(ValueError):
    """The tokens directory or a principal's token file is missing or malformed."""


def token_path(directory: Path, name: str) -> Path:
    """Where `name`'s token lives. Raises ClientTokensError for a name that is no file name."""
    if not _NAME.match(name):
        raise ClientTokensError(f"{name!r} is not a principal name")
    return directory / f"{name}{SUFFIX}"


def read_token(directory: Path, name: str) -> str:
    """The token of `name`, read from its own file and no other."""
    path = token_path(directory, name)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ClientTokensError(
            f"no token for {name!r} in {directory} (known: {', '.join(known_names(directory))}; "
            "`recmesh up` creates them, or set $RECMESH_CREDENTIALS)"
        ) from None
    except OSError as exc:
        raise ClientTokensError(f"cannot read token file {path}: {exc.strerror}") from exc
    if not token or any(c.isspace() for c in token):
        raise ClientTokensError(f"{path}: not a token file (one token, on one line)")
    return token


def known_names(directory: Path) -> list[str]:
    """The principals with a token file in directory (names only; no file is read)."""
    if not directory.is_dir():
        return ["none: no such directory"]
    return sorted(path.name.removesuffix(SUFFIX) for path in directory.glob(f"*{SUFFIX}")) or [
        "none"
    ]


def load_client_tokens(directory: Path) -> dict[str, str]:
    """Every principal's token in directory, by name: what whoever can read the whole
    directory holds (an installation's administrator, test and benchmark harnesses)."""
    if not directory.is_dir():
        raise ClientTokensError(f"cannot read client tokens directory {directory}")
    return {
        path.name.removesuffix(SUFFIX): read_token(directory, path.name.removesuffix(SUFFIX))
        for path in sorted(directory.glob(f"*{SUFFIX}"))
    }
