"""Shadow impression logs for tests, as a front writes them (offline/shadow/records.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def shadow_line(
    request_id: str, arm: str, version: str, items: Sequence[int], user_id: str = "1"
) -> dict[str, Any]:
    """One arm of a shadowed request, as the front logs it (offline/shadow/records.py)."""
    return {
        "request_id": request_id,
        "at": 100.0,
        "user_id": user_id,
        "k": 3,
        "items": [{"item_id": item, "score": 1.0 - rank / 10} for rank, item in enumerate(items)],
        "serving_version": version,
        "rollout": "shadow",
        "rollout_id": "r-1",
        "arm": arm,
        "latency_ms": 10.0,
        "error": False,
    }


def write_shadow_log(
    path: Path, champion: str, challenger: str, lists: Sequence[tuple[list[int], list[int]]]
) -> Path:
    lines = []
    for number, (champion_items, challenger_items) in enumerate(lists):
        lines.append(shadow_line(f"q{number}", "champion", champion, champion_items))
        lines.append(shadow_line(f"q{number}", "challenger", challenger, challenger_items))
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path
