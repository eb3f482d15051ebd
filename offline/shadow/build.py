"""The shadow report of one experiment, built from impression logs (and optionally an
interaction log): what `recmesh shadow report` and the control plane's GetShadowReport
both run.

Only the pairs of that experiment are compared: the champion arm served by the
experiment's champion version and the challenger arm by its challenger version (the
impression record carries no experiment id). Popularity and catalogue size come from
the interaction log when one is given (training rows per item; its items plus every
item shown); without one, popularity is how often the champion showed an item and the
catalogue is every item either arm showed, which the summary says (`popularity_from`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from offline.metrics.beyond import ItemPopularity
from offline.shadow.diff import shadow_diff
from offline.shadow.log_reader import PairedLog, read_shadow_log
from offline.shadow.records import ShadowPair
from offline.shadow.report import ShadowReport, render_report, summary
from recmesh.data.dataset import Interactions
from recmesh.data.generic import load_interactions_file

DEFAULT_K = 10


class NoShadowRecordsError(ValueError):
    """The logs hold no shadowed request of the experiment's two versions."""


@dataclass(frozen=True)
class ShadowRequest:
    """What to compare: the experiment and its two versions, the logs, the depth."""

    experiment_id: str
    champion_version: str
    challenger_version: str
    impressions: tuple[Path, ...]
    k: int = DEFAULT_K
    interactions: Interactions | None = None


@dataclass(frozen=True)
class BuiltReport:
    summary: dict[str, Any]
    html: str


def build_report(request: ShadowRequest) -> BuiltReport:
    """The report's summary (with the experiment, its versions and the popularity source
    added) and its page; NoShadowRecordsError when no pair of those versions is logged."""
    logs = [read_shadow_log(path) for path in request.impressions]
    pairs = [
        pair
        for log in logs
        for pair in log.pairs
        if pair.champion.serving_version == request.champion_version
        and pair.challenger.serving_version == request.challenger_version
    ]
    if not pairs:
        where = ", ".join(str(path) for path in request.impressions)
        raise NoShadowRecordsError(
            f"no shadowed request of {request.challenger_version} beside "
            f"{request.champion_version} (experiment {request.experiment_id}) in {where}"
        )
    combined = PairedLog(
        pairs=tuple(pairs),
        unpaired=tuple(u for log in logs for u in log.unpaired),
        duplicates=tuple(d for log in logs for d in log.duplicates),
        unmarked=sum(log.unmarked for log in logs),
    )
    popularity, catalogue_size, source = _popularity(pairs, request.interactions, request.k)
    diff = shadow_diff(
        pairs,
        k=request.k,
        catalogue_size=catalogue_size,
        popularity=popularity,
        interactions=request.interactions,
    )
    report = ShadowReport(
        title=f"Shadow: {request.experiment_id}",
        facts=(
            ("experiment", request.experiment_id),
            ("champion", request.champion_version),
            ("challenger", request.challenger_version),
            ("impression logs", ", ".join(str(p) for p in request.impressions)),
            ("popularity from", source),
        ),
        diff=diff,
        log=combined,
    )
    body = summary(report)
    body.update(
        experiment_id=request.experiment_id,
        champion_version=request.champion_version,
        challenger_version=request.challenger_version,
        popularity_from=source,
    )
    return BuiltReport(summary=body, html=render_report(report))


def build_from_paths(
    experiment_id: str,
    champion_version: str,
    challenger_version: str,
    impressions: Sequence[Path],
    *,
    interactions: Path | None = None,
    k: int = DEFAULT_K,
) -> BuiltReport:
    """build_report with the interaction log read from its file. Raises
    NoShadowRecordsError, ShadowLogError (a bad log line), DataFormatError (a bad
    interaction file) or OSError."""
    return build_report(
        ShadowRequest(
            experiment_id=experiment_id,
            champion_version=champion_version,
            challenger_version=challenger_version,
            impressions=tuple(impressions),
            k=k,
            interactions=None
            if interactions is None
            else load_interactions_file(interactions).interactions,
        )
    )


def _popularity(
    pairs: Sequence[ShadowPair], interactions: Interactions | None, k: int
) -> tuple[ItemPopularity, int, str]:
    shown = {
        item
        for pair in pairs
        for arm in (pair.champion, pair.challenger)
        for item in arm.item_ids(k)
    }
    if interactions is not None:
        catalogue = shown | {int(item) for item in np.unique(interactions.items)}
        return ItemPopularity.of(interactions), max(1, len(catalogue)), "interaction log"
    champion_items = np.asarray(
        [item for pair in pairs for item in pair.champion.item_ids(k)], dtype=np.int64
    )
    item_ids, counts = np.unique(champion_items, return_counts=True)
    popularity = ItemPopularity(
        item_ids=item_ids.astype(np.int64),
        counts=counts.astype(np.int64),
        total=int(champion_items.shape[0]),
    )
    return popularity, max(1, len(shown)), "champion impressions"
