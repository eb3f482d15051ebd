"""The spec's dataset section: a column mapping, a weight, a format and item metadata,
validated by field and used when the dataset loads."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from offline.experiment.data import load_dataset
from offline.experiment.spec_loading import SpecError, load_spec, parse_spec
from recmesh.console.progress import NullProgress
from recmesh.data.log_format import ColumnMapping, IdKinds, ItemFile, LogFormat, Weighting
from recmesh.data.movielens_csv import load_movielens_csv
from recmesh.files.repo_paths import REPO_ROOT, SHARED_DATA_DIR
from tests.offline.experiment.specs import small_spec

ML_LATEST_SMALL = SHARED_DATA_DIR / "ml-latest-small"
LISTENS = "userID\tartistID\tweight\n2\t51\t13883\n2\t52\t0\n7\t51\t3\n"


def _spec_with(dataset: dict[str, Any]) -> Any:
    body = small_spec()
    body["dataset"] = dataset
    return parse_spec(body)


def test_a_mapping_and_log1p_load_a_log_whose_header_uses_other_names(tmp_path: Path) -> None:
    """`userID artistID weight` play counts, mapped and log1p-weighted by the spec, load:
    the weights are log(1 + plays)."""
    log = tmp_path / "user_artists.dat"
    log.write_text(LISTENS, encoding="utf-8")
    spec = _spec_with(
        {
            "name": "lastfm",
            "path": str(log),
            "format": "tsv",
            "columns": {"user": "userID", "item": "artistID", "rating": "weight"},
            "weight": "log1p",
        }
    )
    assert spec.dataset.log == LogFormat(
        format="tsv",
        columns=ColumnMapping(user="userID", item="artistID", rating="weight"),
        weight=Weighting("log1p"),
    )
    dataset = load_dataset(spec.dataset, tmp_path, spec.seed, NullProgress())
    assert dataset.interactions.users.tolist() == [2, 2, 7]
    assert dataset.interactions.items.tolist() == [51, 52, 51]
    assert dataset.interactions.ratings.tolist() == pytest.approx(
        [math.log1p(13883), 0.0, math.log1p(3)]
    )


def test_a_parquet_log_with_item_metadata_loads(tmp_path: Path) -> None:
    """A Parquet log of track URIs with a metadata file: titles join by the URI."""
    pq.write_table(
        pa.table({"user": ["u1", "u2"], "track": ["t:1", "t:2"]}), tmp_path / "plays.parquet"
    )
    (tmp_path / "tracks.csv").write_text("uri,name\nt:1,One\nt:2,Two\n", encoding="utf-8")
    spec = _spec_with(
        {
            "name": "plays",
            "path": str(tmp_path / "plays.parquet"),
            "columns": {"item": "track"},
            "ids": "string",
            "items": {"path": str(tmp_path / "tracks.csv"), "id": "uri", "title": "name"},
        }
    )
    assert spec.dataset.log.items == ItemFile(
        path=str(tmp_path / "tracks.csv"), id="uri", title="name"
    )
    dataset = load_dataset(spec.dataset, tmp_path, spec.seed, NullProgress())
    by_uri = dict(zip(dataset.items.external_ids, dataset.items.titles, strict=True))
    assert by_uri == {"t:1": "One", "t:2": "Two"}


@pytest.mark.parametrize(
    ("dataset", "field", "message"),
    [
        ({"name": "x", "path": "a.csv", "format": "xlsx"}, "dataset.format", "csv, tsv, parquet"),
        ({"name": "x", "path": "a.csv", "weight": "sqrt"}, "dataset.weight", "unknown weight"),
        ({"name": "x", "path": "a.csv", "weight": 4}, "dataset.weight", "threshold:4"),
        ({"name": "x", "path": "a.csv", "columns": {"usr": "u"}}, "dataset.columns.usr", "unknown"),
        (
            {"name": "x", "path": "a.csv", "columns": {"user": "id", "item": "id"}},
            "dataset.columns",
            "two roles",
        ),
        ({"name": "x", "path": "a.csv", "items": {"path": "m.csv"}}, "dataset.items.id", "missing"),
        ({"name": "ml-100k", "weight": "log1p"}, "dataset.weight", "dataset.path"),
        ({"name": "x", "path": "a.csv", "ids": "uuid"}, "dataset.ids", "integer, string"),
        ({"name": "x", "path": "a.csv", "ids": {"item": "str"}}, "dataset.ids.item", "integer"),
        (
            {"name": "x", "path": "a.csv", "ids": {"track": "string"}},
            "dataset.ids.track",
            "unknown",
        ),
    ],
)
def test_bad_dataset_fields_are_named(dataset: dict[str, Any], field: str, message: str) -> None:
    """Every dataset field is checked before anything runs, the error naming it."""
    with pytest.raises(SpecError) as raised:
        _spec_with(dataset)
    assert raised.value.field == field
    assert message in str(raised.value)


def test_ids_name_both_columns_or_each() -> None:
    """`ids: string` reads both id columns as strings; a mapping sets each, the other
    staying integer; without `ids` both are integers."""
    both = _spec_with({"name": "x", "path": "a.csv", "ids": "string"})
    users = _spec_with({"name": "x", "path": "a.csv", "ids": {"user": "string"}})
    default = _spec_with({"name": "x", "path": "a.csv"})
    assert both.dataset.log.ids == IdKinds("string", "string")
    assert users.dataset.log.ids == IdKinds(user="string", item="integer")
    assert default.dataset.log.ids == IdKinds("integer", "integer")


def test_a_dataset_without_log_fields_reads_as_before() -> None:
    """No format, columns, weight or items: the default LogFormat (usual names, as is)."""
    spec = _spec_with({"name": "ml-100k", "max_users": 150})
    assert spec.dataset.log.is_default


def test_the_shipped_ml_latest_small_spec_reads_it_through_the_log_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """experiments/ml-latest-small.yaml (a column mapping and movies.csv as item metadata,
    paths from the repository root) loads the shared files as their own loader does."""
    if not ML_LATEST_SMALL.is_dir():
        pytest.skip(f"real-data test: {ML_LATEST_SMALL} is absent (MovieLens ml-latest-small)")
    monkeypatch.chdir(REPO_ROOT)
    spec = load_spec(REPO_ROOT / "experiments" / "ml-latest-small.yaml")
    assert spec.dataset.path is not None
    assert Path(spec.dataset.path).is_file()
    dataset = load_dataset(spec.dataset, tmp_path, spec.seed, NullProgress())
    own = load_movielens_csv(ML_LATEST_SMALL)
    assert len(dataset.interactions) == 100_836
    assert dataset.fingerprint == own.fingerprint
    assert dataset.items.titles == own.items.titles
