"""The data a refresh compares: what the champion's snapshot holds, and what is known now.

Both are the dataset's rows plus rows of the interaction log, weighted as the
dataset's own rows (its log format's transform). The champion's are
the log rows its lineage recorded (none for a version built from the dataset
alone), and the reference is checked against the fingerprint its manifest
records, so a changed dataset or a rewritten log is caught here, before anything
is built. What is known now is every complete line of the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from offline.refresh.errors import RefreshError
from recmesh.data.dataset import Dataset
from recmesh.data.errors import DataFormatError
from recmesh.data.log_format import Weighting
from recmesh.interactions.combine import with_logged_rows
from recmesh.interactions.log_reader import read_log


@dataclass(frozen=True)
class RefreshData:
    """The champion's data (reference) and the refreshed data, over one catalogue."""

    reference: Dataset
    refreshed: Dataset
    #: Log rows per file the refreshed data includes (recorded in its lineage).
    log_rows: Mapping[str, int]

    @property
    def added_interactions(self) -> int:
        return len(self.refreshed.interactions) - len(self.reference.interactions)


def refresh_data(
    dataset: Dataset,
    log_dir: Path,
    champion_log_rows: Mapping[str, int],
    champion_fingerprint: str,
    weight: Weighting,
) -> RefreshData:
    """The champion's data rebuilt and checked, and the data known now; the log's rows
    are weighted by `weight`, the dataset's own transform (its log format's)."""
    try:
        reference_log = read_log(log_dir, champion_log_rows)
        current_log = read_log(log_dir)
        reference = with_logged_rows(dataset, reference_log, weight)
        refreshed = with_logged_rows(dataset, current_log, weight)
    except DataFormatError as exc:
        raise RefreshError(f"interaction log {log_dir}: {exc}") from exc
    if reference.fingerprint != champion_fingerprint:
        raise RefreshError(
            f"the serving snapshot was built from data {champion_fingerprint[:12]}, but "
            f"{dataset.name} plus the {sum(champion_log_rows.values())} log rows it recorded "
            f"give {reference.fingerprint[:12]}: refresh from the dataset the serving "
            "version was built from (--dataset), and never rewrite the interaction log"
        )
    for name, rows in champion_log_rows.items():
        if current_log.rows_per_file.get(name, 0) < rows:
            raise RefreshError(f"interaction log file {name} lost lines since the last refresh")
    return RefreshData(
        reference=reference,
        refreshed=refreshed,
        log_rows=dict(current_log.rows_per_file),
    )
