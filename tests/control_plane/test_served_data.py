"""A challenger that lacks log lines the champion serves is named as forgetting them."""

from __future__ import annotations

from control_plane.served_data import forgotten_log_rows
from recmesh.api.controlplane.v1 import records_pb2


def _version(version_id: str, rows: dict[str, int]) -> records_pb2.ModelVersion:
    return records_pb2.ModelVersion(
        version_id=version_id, lineage=records_pb2.Lineage(interaction_log_rows=rows)
    )


def test_a_challenger_holding_every_logged_line_is_fine() -> None:
    """Equal or more lines per file, or a champion with none, forget nothing."""
    champion = _version("sv-a", {"front-1.tsv": 3})
    assert forgotten_log_rows(champion, _version("sv-b", {"front-1.tsv": 3})) is None
    assert forgotten_log_rows(champion, _version("sv-b", {"front-1.tsv": 5, "x.tsv": 1})) is None
    assert forgotten_log_rows(_version("sv-a", {}), _version("sv-b", {})) is None


def test_missing_lines_are_counted_per_file() -> None:
    """Fewer lines of a file, or a file not read at all, is refused with the counts."""
    champion = _version("sv-a", {"front-1.tsv": 3, "front-2.tsv": 2})
    reason = forgotten_log_rows(champion, _version("sv-b", {"front-1.tsv": 1}))
    assert reason is not None
    assert "holds 4 logged interactions" in reason
    assert "2 of front-1.tsv, 2 of front-2.tsv" in reason
