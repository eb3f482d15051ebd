"""Reads shadow records from an impression log (JSON lines) and pairs them by request id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from offline.shadow.records import (
    CHALLENGER,
    CHAMPION,
    ArmImpression,
    ShadowPair,
    ShadowRecordError,
    is_shadow_record,
)


class ShadowLogError(ValueError):
    """A line of the log that is not a valid record; names the file and the line."""


@dataclass(frozen=True)
class Unpaired:
    """A shadow record whose other arm is not in the log."""

    request_id: str
    arm: str


@dataclass(frozen=True)
class PairedLog:
    """The log's shadowed requests.

    `pairs` holds each request with both arms, in the order their first record
    appears; `unpaired` the records whose other arm never came; `duplicates` the
    request ids with an arm logged more than once (the first record is kept);
    `unmarked` counts the other lines: impressions of requests that were not shadowed,
    staged rollouts' answers included (their `arm` says who answered, not a pair).
    """

    pairs: tuple[ShadowPair, ...]
    unpaired: tuple[Unpaired, ...]
    duplicates: tuple[str, ...]
    unmarked: int


def read_shadow_log(path: Path) -> PairedLog:
    """Pairs the shadow records of the JSON-lines log at `path`.

    A last line without its newline is a write in progress and is not read.
    Raises ShadowLogError for a line that is not JSON or not a valid record.
    """
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")[:-1]  # what follows the last newline is incomplete
    impressions: list[ArmImpression] = []
    unmarked = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ShadowRecordError("a record must be a JSON object")
            if not is_shadow_record(record):
                unmarked += 1
                continue
            impressions.append(ArmImpression.from_record(record))
        except (json.JSONDecodeError, ShadowRecordError) as error:
            raise ShadowLogError(f"{path}:{number}: {error}") from error
    return pair_impressions(impressions, unmarked)


def pair_impressions(impressions: list[ArmImpression], unmarked: int = 0) -> PairedLog:
    """Pairs champion and challenger impressions by request id (see PairedLog)."""
    arms: dict[str, dict[str, ArmImpression]] = {}
    duplicates: dict[str, None] = {}
    for impression in impressions:
        by_arm = arms.setdefault(impression.request_id, {})
        if impression.arm in by_arm:
            duplicates[impression.request_id] = None
            continue
        by_arm[impression.arm] = impression
    pairs: list[ShadowPair] = []
    unpaired: list[Unpaired] = []
    for request_id, by_arm in arms.items():
        if CHAMPION in by_arm and CHALLENGER in by_arm:
            pairs.append(ShadowPair(champion=by_arm[CHAMPION], challenger=by_arm[CHALLENGER]))
        else:
            unpaired.extend(Unpaired(request_id, arm) for arm in by_arm)
    return PairedLog(
        pairs=tuple(pairs),
        unpaired=tuple(unpaired),
        duplicates=tuple(duplicates),
        unmarked=unmarked,
    )
