"""Pairing the impression log's shadow records by request id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offline.shadow.log_reader import ShadowLogError, Unpaired, read_shadow_log
from offline.shadow.records import CHALLENGER, CHAMPION
from tests.offline.shadow.factories import record


def _write(path: Path, records: list[dict[str, Any]], tail: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail, encoding="utf-8")
    return path


def test_records_are_paired_by_request_id_whatever_their_order(tmp_path: Path) -> None:
    """Challenger before champion, interleaved requests: each pair joins its own two."""
    log = _write(tmp_path / "impressions.jsonl", [
        record("r1", CHALLENGER, [7, 8]),
        record("r2", CHAMPION, [3]),
        record("r1", CHAMPION, [1, 2]),
        record("r2", CHALLENGER, [4]),
    ])  # fmt: skip
    paired = read_shadow_log(log)
    assert [p.request_id for p in paired.pairs] == ["r1", "r2"]
    r1 = paired.pairs[0]
    assert r1.champion.item_ids(10) == [1, 2]
    assert r1.challenger.item_ids(10) == [7, 8]
    assert paired.unpaired == ()
    assert paired.duplicates == ()


def test_unpaired_duplicated_and_unmarked_records_are_reported(tmp_path: Path) -> None:
    """A lone arm is unpaired, a second record of an arm a duplicate (first kept), a plain
    impression an unshadowed one, and a last line without its newline unread."""
    plain = record("r0", CHAMPION, [1])
    for shadow_field in ("arm", "rollout", "rollout_id", "latency_ms", "error"):
        del plain[shadow_field]
    log = _write(tmp_path / "impressions.jsonl", [
        plain,
        record("r1", CHAMPION, [1]),
        record("r1", CHALLENGER, [2]),
        record("r1", CHALLENGER, [3]),
        record("r2", CHAMPION, [1]),
        record("r3", CHALLENGER, [1]),
    ], tail='{"request_id": "r4", "ar')  # fmt: skip
    paired = read_shadow_log(log)
    assert [p.request_id for p in paired.pairs] == ["r1"]
    assert paired.pairs[0].challenger.item_ids(10) == [2]
    assert paired.unpaired == (Unpaired("r2", CHAMPION), Unpaired("r3", CHALLENGER))
    assert paired.duplicates == ("r1",)
    assert paired.unmarked == 1


def test_a_malformed_line_is_named_by_its_number(tmp_path: Path) -> None:
    """A record without latency_ms fails the read with the file and line."""
    broken = record("r1", CHALLENGER, [2])
    del broken["latency_ms"]
    log = _write(tmp_path / "impressions.jsonl", [record("r1", CHAMPION, [1]), broken])
    with pytest.raises(ShadowLogError, match=r"impressions.jsonl:2: missing field 'latency_ms'"):
        read_shadow_log(log)


def test_a_line_that_is_not_json_is_refused(tmp_path: Path) -> None:
    """Garbage in the log is an error, not a skipped line."""
    log = tmp_path / "impressions.jsonl"
    log.write_text("not json\n", encoding="utf-8")
    with pytest.raises(ShadowLogError, match=":1:"):
        read_shadow_log(log)


def test_staged_impressions_with_an_arm_are_not_taken_for_shadow_records(
    tmp_path: Path,
) -> None:
    """A staged rollout's answer names its arm but is no shadow record: it is counted as
    an unshadowed impression, never reported unpaired."""
    staged = record("r2", CHALLENGER, [5])
    staged["rollout"] = "staged"
    staged["stage"] = 0
    log = _write(tmp_path / "impressions.jsonl", [
        record("r1", CHAMPION, [1]),
        staged,
        record("r1", CHALLENGER, [2]),
    ])  # fmt: skip
    paired = read_shadow_log(log)
    assert [p.request_id for p in paired.pairs] == ["r1"]
    assert paired.unpaired == ()
    assert paired.unmarked == 1
