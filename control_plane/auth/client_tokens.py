"""The client tokens file the CLI reads: plaintext tokens by principal name (mode 0600).

{"format": 1, "tokens": {"alice": "rmcp_...", "bob": "rmcp_..."}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

FORMAT = 1


class ClientTokensError(ValueError):
    """The tokens file is missing, malformed, or lacks the principal asked for."""


def encode_client_tokens(tokens: Mapping[str, str]) -> bytes:
    body = {"format": FORMAT, "tokens": dict(sorted(tokens.items()))}
    return (json.dumps(body, indent=2) + "\n").encode()


def load_client_tokens(path: Path) -> dict[str, str]:
    try:
        body = json.loads(path.read_bytes())
        tokens = body["tokens"]
        if body.get("format") != FORMAT or not isinstance(tokens, dict):
            raise ClientTokensError(f"{path}: not a format {FORMAT} client tokens file")
        return {str(name): str(token) for name, token in tokens.items()}
    except OSError as exc:
        raise ClientTokensError(
            f"cannot read client tokens file {path}: {exc.strerror} (`recmesh up` creates it; "
            "or set $RECMESH_CREDENTIALS)"
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, ClientTokensError):
            raise
        raise ClientTokensError(f"{path}: malformed client tokens file: {exc}") from exc


def token_for(path: Path, name: str) -> str:
    tokens = load_client_tokens(path)
    if name not in tokens:
        known = ", ".join(sorted(tokens)) or "none"
        raise ClientTokensError(f"no token for {name!r} in {path} (known: {known})")
    return tokens[name]
