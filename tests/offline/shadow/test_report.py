"""The shadow report page and its summary."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np

from offline.metrics.beyond import ItemPopularity
from offline.shadow.diff import shadow_diff
from offline.shadow.log_reader import pair_impressions
from offline.shadow.records import CHALLENGER, CHAMPION, ArmImpression
from offline.shadow.report import ShadowReport, summary, write_report
from tests.offline.factories import interactions
from tests.offline.shadow.factories import pair, record

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _report() -> ShadowReport:
    pairs = [
        pair("r1", [1, 2, 3], [2, 7, 1], user_id="1"),
        pair("r2", [4, 5, 6], [4, 5, 6], user_id="2"),
    ]
    lone = ArmImpression.from_record(record("r9", CHAMPION, [1]))
    log = pair_impressions([pair.champion for pair in pairs] + [pair.challenger for pair in pairs]
                           + [lone])  # fmt: skip
    popularity = ItemPopularity(np.arange(1, 8), np.arange(1, 8), 28)
    diff = shadow_diff(
        log.pairs, k=3, catalogue_size=10, popularity=popularity,
        interactions=interactions([(1, 7, 1.0, 150)]), resamples=100,
    )  # fmt: skip
    return ShadowReport(title="Shadow: exp-1", facts=(("experiment", "exp-1"),), diff=diff, log=log)


def test_the_page_is_written_with_its_plots(tmp_path: Path) -> None:
    """The page exists, names its numbers, and embeds its four PNG plots that decode."""
    path = write_report(tmp_path / "out" / "shadow.html", _report())
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "Shadow: exp-1" in page
    assert "overlap@3" in page
    assert "rank-biased overlap (p = 0.9)" in page
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(images) == 4
    assert all(base64.b64decode(image).startswith(PNG_SIGNATURE) for image in images)


def test_the_summary_is_json_evidence() -> None:
    """The summary round-trips through JSON and carries the overall numbers."""
    data = json.loads(json.dumps(summary(_report())))
    assert data["requests"] == 2
    assert data["unpaired"] == 1
    assert data["overlap"]["value"] == (2 / 3 + 1) / 2
    assert data["hit_rate"]["champion"] == 0.0
    assert data["hit_rate"]["challenger"] == 1.0
    assert data["coverage"] == {CHAMPION: 0.6, CHALLENGER: 0.6}
    assert data["latency_ms"]["delta"] == 10.0
