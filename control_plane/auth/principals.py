"""The server's principals file: who exists, their roles, their token's sha256.

    {
      "format": 1,
      "principals": {
        "alice": {"roles": ["experimenter"], "token_sha256": "<hex sha256 of the token>"},
        "deploy-bot.example.com": {"roles": ["operator"]}
      }
    }

Tokens are random 256-bit strings, so one unsalted sha256 is enough to keep
them out of the file; a principal without `token_sha256` can only
authenticate with a client certificate whose CN or SAN is its name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from control_plane.auth.roles import Principal, Role, parse_roles

FORMAT = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


class PrincipalsFileError(ValueError):
    """The principals file is missing or malformed; the message says where."""


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class PrincipalRecord:
    name: str
    roles: frozenset[Role]
    token_sha256: str | None

    @property
    def principal(self) -> Principal:
        return Principal(self.name, self.roles)


@dataclass(frozen=True)
class Principals:
    """The principals of one installation, looked up by name or by token hash."""

    records: Mapping[str, PrincipalRecord]

    def by_name(self, name: str) -> Principal | None:
        record = self.records.get(name)
        return None if record is None else record.principal

    def by_token(self, token: str) -> Principal | None:
        digest = token_sha256(token)
        for record in self.records.values():
            if record.token_sha256 is not None and hmac.compare_digest(
                record.token_sha256, digest
            ):
                return record.principal
        return None

    def to_json_bytes(self) -> bytes:
        body: dict[str, Any] = {"format": FORMAT, "principals": {}}
        for name, record in sorted(self.records.items()):
            entry: dict[str, Any] = {"roles": sorted(role.value for role in record.roles)}
            if record.token_sha256 is not None:
                entry["token_sha256"] = record.token_sha256
            body["principals"][name] = entry
        return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json_bytes(cls, data: bytes, where: str) -> Principals:
        try:
            body = json.loads(data)
            if body.get("format") != FORMAT:
                raise PrincipalsFileError(f"{where}: format must be {FORMAT}")
            records = {}
            for name, entry in body["principals"].items():
                if not _NAME.match(name):
                    raise PrincipalsFileError(f"{where}: bad principal name {name!r}")
                digest = entry.get("token_sha256")
                if digest is not None and not re.fullmatch(r"[0-9a-f]{64}", str(digest)):
                    raise PrincipalsFileError(f"{where}: {name}.token_sha256 is not a sha256")
                records[name] = PrincipalRecord(
                    name=name,
                    roles=parse_roles(list(entry["roles"]), f"{where}: {name}"),
                    token_sha256=None if digest is None else str(digest),
                )
        except PrincipalsFileError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PrincipalsFileError(f"{where}: malformed principals file: {exc}") from exc
        return cls(records)


def load_principals(path: Path) -> Principals:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PrincipalsFileError(
            f"cannot read principals file {path}: {exc.strerror}; `recmesh up` creates one"
        ) from exc
    return Principals.from_json_bytes(data, str(path))
