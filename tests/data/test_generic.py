"""Tests for recmesh.data.generic."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from recmesh.data.errors import DataFormatError
from recmesh.data.external_ids import external_code
from recmesh.data.generic import load_interactions_file
from recmesh.data.log_format import ColumnMapping, IdKinds, LogFormat, Weighting
from recmesh.data.recbole_format import INTER_HEADER

_STRINGS = LogFormat(ids=IdKinds.parse("string"))


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_aliased_headers_loads_in_file_order(tmp_path: Path) -> None:
    """userId/movieId/Rating/TS are matched case-insensitively; rows stay in order."""
    path = _write(tmp_path, "events.csv", "userId,movieId,Rating,TS\n2,20,4.5,99\n1,10,3,98\n")
    dataset = load_interactions_file(path)
    assert dataset.name == "events"
    assert dataset.interactions.users.tolist() == [2, 1]
    assert dataset.interactions.items.tolist() == [20, 10]
    assert dataset.interactions.ratings.tolist() == [4.5, 3.0]
    assert dataset.interactions.timestamps.tolist() == [99, 98]
    assert dataset.users is None


def test_catalogue_holds_seen_items_without_metadata(tmp_path: Path) -> None:
    """Items seen, sorted, with empty titles, no genres and year 0."""
    path = _write(tmp_path, "e.tsv", "user\titem\n1\t30\n1\t10\n2\t30\n")
    catalog = load_interactions_file(path).items
    assert catalog.item_ids.tolist() == [10, 30]
    assert catalog.titles == ("", "")
    assert catalog.genre_names == ()
    assert catalog.genres.shape == (2, 0)
    assert catalog.years.tolist() == [0, 0]


def test_weight_column_and_missing_timestamp(tmp_path: Path) -> None:
    """A weight column gives the ratings; without a timestamp column they are 0."""
    path = _write(tmp_path, "clicks.tsv", "user_id\titem_id\tweight\n1\t2\t0.25\n")
    dataset = load_interactions_file(path)
    assert dataset.interactions.ratings.tolist() == [0.25]
    assert dataset.interactions.timestamps.tolist() == [0]


def test_without_rating_every_interaction_weighs_one(tmp_path: Path) -> None:
    """Implicit data (user, item only) gets rating 1.0; extra columns are ignored."""
    path = _write(tmp_path, "views.csv", "item,user,device\n5,1,phone\n")
    dataset = load_interactions_file(path)
    assert dataset.interactions.users.tolist() == [1]
    assert dataset.interactions.items.tolist() == [5]
    assert dataset.interactions.ratings.tolist() == [1.0]


def test_delimiter_is_sniffed_from_the_header_for_other_extensions(tmp_path: Path) -> None:
    """A .txt file with tabs or semicolons in its header is split on them."""
    tabs = _write(tmp_path, "a.txt", "user\titem\n1\t2\n")
    semis = _write(tmp_path, "b.txt", "user;item\n1;2\n")
    assert load_interactions_file(tabs).interactions.items.tolist() == [2]
    assert load_interactions_file(semis).interactions.items.tolist() == [2]


def test_recbole_typed_header_is_understood(tmp_path: Path) -> None:
    """`user_id:token` style headers (recbole .inter files) are matched by name."""
    path = tmp_path / "ml-100k.inter"
    path.write_bytes(INTER_HEADER + b"\n196\t242\t3\t881250949\n")
    dataset = load_interactions_file(path)
    assert dataset.interactions.timestamps.tolist() == [881250949]


def test_missing_user_column_is_reported_at_the_header(tmp_path: Path) -> None:
    """A header without a user column is a DataFormatError at line 1."""
    path = _write(tmp_path, "e.csv", "customer,item\n1,2\n")
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(path)
    assert str(caught.value) == (
        "e.csv:1: no user column in header customer, item (name it in the column mapping: "
        "user: COLUMN)"
    )


def test_two_columns_for_one_role_are_ambiguous(tmp_path: Path) -> None:
    """user and user_id together are rejected rather than guessed between."""
    path = _write(tmp_path, "e.csv", "user,user_id,item\n1,1,2\n")
    with pytest.raises(DataFormatError, match="two user columns"):
        load_interactions_file(path)


def test_undetectable_delimiter_is_reported(tmp_path: Path) -> None:
    """A header with no tab, comma or semicolon cannot be split."""
    path = _write(tmp_path, "e.txt", "user item\n1 2\n")
    with pytest.raises(DataFormatError, match="cannot tell the delimiter"):
        load_interactions_file(path)


def test_a_bad_rating_names_its_line_and_column(tmp_path: Path) -> None:
    """A rating that is not a number is reported with its line and the column's name."""
    path = _write(tmp_path, "e.csv", "user,item,stars\n1,2,4\n1,3,four\n")
    mapping = LogFormat(columns=ColumnMapping(rating="stars"))
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(path, log_format=mapping)
    assert str(caught.value) == "e.csv:3: column 'stars': rating is not a number: 'four'"
    assert (caught.value.line, caught.value.column) == (3, "stars")


def test_100k_rows_load_well_under_two_seconds(tmp_path: Path) -> None:
    """A 100,000-row CSV loads in under 2 s."""
    rows = "".join(f"{i % 943},{i % 1682},{i % 5 + 1}.5,{880000000 + i}\n" for i in range(100_000))
    path = _write(tmp_path, "big.csv", "user,item,rating,timestamp\n" + rows)
    started = time.perf_counter()
    dataset = load_interactions_file(path)
    assert time.perf_counter() - started < 2.0
    assert len(dataset.interactions) == 100_000


def test_column_mapping_and_log1p_load_a_listening_log(tmp_path: Path) -> None:
    """`userID artistID weight` play counts load with a mapping; log1p turns counts into
    weights; artist ids that are integers stay integers."""
    path = _write(
        tmp_path, "user_artists.dat", "userID\tartistID\tweight\n2\t51\t13883\n2\t52\t0\n"
    )
    log = LogFormat(
        format="tsv",
        columns=ColumnMapping(user="userID", item="artistID", rating="weight"),
        weight=Weighting.parse("log1p"),
    )
    dataset = load_interactions_file(path, log_format=log)
    assert dataset.interactions.items.tolist() == [51, 52]
    assert dataset.interactions.ratings.tolist() == pytest.approx([math.log1p(13883), 0.0])
    assert dataset.user_external_ids is None
    assert dataset.items.external_ids == ()


def test_the_default_aliases_do_not_find_userid_artistid(tmp_path: Path) -> None:
    """Without a mapping the listening log's item column is not found, and the error says
    how to name it."""
    path = _write(tmp_path, "plays.tsv", "userID\tartistID\tweight\n2\t51\t1\n")
    with pytest.raises(DataFormatError, match=r"no item column .* item: COLUMN"):
        load_interactions_file(path)


def test_a_mapped_column_missing_from_the_header_is_named(tmp_path: Path) -> None:
    """A mapping naming a column the file lacks is an error at the header."""
    path = _write(tmp_path, "plays.csv", "user,item\n1,2\n")
    log = LogFormat(columns=ColumnMapping(timestamp="played_at"))
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(path, log_format=log)
    assert str(caught.value) == (
        "plays.csv:1: no column 'played_at' (the timestamp column) in header user, item"
    )


def test_log1p_refuses_a_negative_count_at_its_line(tmp_path: Path) -> None:
    """A negative count cannot be log1p-weighted: its line and column are named."""
    path = _write(tmp_path, "plays.csv", "user,item,plays\n1,2,3\n1,3,-1\n")
    log = LogFormat(columns=ColumnMapping(rating="plays"), weight=Weighting.parse("log1p"))
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(path, log_format=log)
    assert str(caught.value) == "plays.csv:3: column 'plays': log1p needs weights >= 0, got -1"


def test_binary_and_threshold_weights(tmp_path: Path) -> None:
    """binary weighs every row 1; threshold:4 keeps rows rated 4 or more, each weighing 1."""
    path = _write(tmp_path, "r.csv", "user,item,rating\n1,1,5\n1,2,3.5\n2,1,4\n")
    binary = load_interactions_file(path, log_format=LogFormat(weight=Weighting.parse("binary")))
    assert binary.interactions.ratings.tolist() == [1.0, 1.0, 1.0]
    kept = load_interactions_file(path, log_format=LogFormat(weight=Weighting.parse("threshold:4")))
    assert kept.interactions.items.tolist() == [1, 1]
    assert kept.interactions.users.tolist() == [1, 2]
    assert kept.interactions.ratings.tolist() == [1.0, 1.0]
    assert kept.fingerprint != binary.fingerprint


def test_a_threshold_that_keeps_nothing_is_an_error(tmp_path: Path) -> None:
    """threshold above every rating leaves no data: refused, not an empty dataset."""
    path = _write(tmp_path, "r.csv", "user,item,rating\n1,1,2\n")
    with pytest.raises(DataFormatError, match="no row is kept by weight threshold:4"):
        load_interactions_file(path, log_format=LogFormat(weight=Weighting.parse("threshold:4")))


def test_string_ids_are_kept_as_a_mapping(tmp_path: Path) -> None:
    """Track URIs and user names load: codes of their strings, the mapping kept, the
    catalogue carrying each item's string."""
    path = _write(
        tmp_path,
        "listens.csv",
        "user,item\nalice,spotify:track:7\nbob,spotify:track:7\nalice,spotify:track:9\n",
    )
    dataset = load_interactions_file(path, log_format=_STRINGS)
    items = dataset.interactions.items
    assert items[0] == items[1] == external_code("spotify:track:7")
    assert items[2] == external_code("spotify:track:9")
    catalog = dataset.items
    assert dict(zip(catalog.item_ids.tolist(), catalog.external_ids, strict=True)) == {
        external_code("spotify:track:7"): "spotify:track:7",
        external_code("spotify:track:9"): "spotify:track:9",
    }
    names = dataset.user_external_ids
    assert names is not None
    assert names.names_of(dataset.interactions.users) == ["alice", "bob", "alice"]


def test_item_codes_stay_the_same_when_a_later_version_adds_a_string_id(
    tmp_path: Path,
) -> None:
    """With ids: string, digit ids are strings from the first version on: adding the item
    "abc" later leaves the codes of items 10 and 11 (served ids, logged feedback) alone."""
    log = LogFormat(ids=IdKinds.parse("item=string"))
    v1 = load_interactions_file(
        _write(tmp_path, "v1.csv", "user,item\n1,10\n1,11\n"), log_format=log
    )
    v2 = load_interactions_file(
        _write(tmp_path, "v2.csv", "user,item\n1,10\n1,11\n2,abc\n"), log_format=log
    )
    assert v1.interactions.items.tolist() == [external_code("10"), external_code("11")]
    assert v2.interactions.items.tolist()[:2] == v1.interactions.items.tolist()
    assert v2.interactions.users.tolist() == [1, 1, 2]


def test_a_string_id_under_integer_ids_names_its_line_and_column(tmp_path: Path) -> None:
    """By default ids are integers: one non-integer id is an error at its line, saying how
    to read string ids, instead of turning every id of the column into a hash."""
    path = _write(tmp_path, "e.csv", "user,item\n1,12\n1,x12\n")
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(path)
    assert str(caught.value) == (
        "e.csv:3: column 'item': item id is not an integer: 'x12' (string ids are read with "
        "ids: string)"
    )


def test_an_id_past_int64_under_integer_ids_is_an_error(tmp_path: Path) -> None:
    """An integer id that does not fit in int64 is refused at its line, not hashed."""
    path = _write(tmp_path, "e.csv", f"user,item\n1,12\n{2**63},13\n")
    with pytest.raises(DataFormatError, match=r"e\.csv:3: column 'user': user id .* out of range"):
        load_interactions_file(path)


def test_an_empty_string_id_names_its_line(tmp_path: Path) -> None:
    """An empty id among string ids is an error at its line, naming the column."""
    path = _write(tmp_path, "e.csv", "user,track\na,t1\nb,\n")
    log = LogFormat(columns=ColumnMapping(item="track"), ids=IdKinds.parse("string"))
    with pytest.raises(DataFormatError) as caught:
        load_interactions_file(path, log_format=log)
    assert str(caught.value) == "e.csv:3: column 'track': empty item id"


def test_fingerprint_of_string_ids_ignores_row_order_and_format(tmp_path: Path) -> None:
    """The same rows with string ids give one fingerprint in CSV and TSV, in any order;
    another string changes it."""
    csv = _write(tmp_path, "a.csv", "user,item,rating\nu1,t:a,1\nu2,t:b,2\n")
    tsv = _write(tmp_path, "b.tsv", "user\titem\trating\nu2\tt:b\t2\nu1\tt:a\t1\n")
    other = _write(tmp_path, "c.csv", "user,item,rating\nu1,t:a,1\nu2,t:c,2\n")
    load = load_interactions_file
    assert load(csv, log_format=_STRINGS).fingerprint == load(tsv, log_format=_STRINGS).fingerprint
    assert (
        load(csv, log_format=_STRINGS).fingerprint != load(other, log_format=_STRINGS).fingerprint
    )
