"""Tests for cli.data_cmd, run in-process through cli.main.main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from recmesh.data.dataset import Dataset


def test_fetch_with_a_verified_cache_prints_its_directory(
    ml100k_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`recmesh data fetch ml-100k --data-dir DIR` prints DIR/ml-100k and exits 0."""
    assert main(["data", "fetch", "ml-100k", "--data-dir", str(ml100k_dir.parent)]) == 0
    assert capsys.readouterr().out.strip() == str(ml100k_dir)


def test_info_by_name_prints_the_counts_and_fingerprint(
    ml100k: Dataset,
    ml100k_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`recmesh data info ml-100k` loads the cache under $RECMESH_DATA_DIR and prints its size."""
    monkeypatch.setenv("RECMESH_DATA_DIR", str(ml100k_dir.parent))
    assert main(["data", "info", "ml-100k"]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert lines["rows"] == "100000"
    assert lines["users"] == "943"
    assert lines["items"] == "1682"
    assert lines["fingerprint"] == ml100k.fingerprint


def test_info_of_a_file_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`recmesh data info FILE --json` prints one JSON object describing the file."""
    path = tmp_path / "clicks.csv"
    path.write_text("user,item\n1,2\n1,3\n2,3\n")
    assert main(["data", "info", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["name"], summary["rows"], summary["users"], summary["items"]) == (
        "clicks",
        3,
        2,
        2,
    )
    assert len(summary["fingerprint"]) == 64


def test_info_of_a_bad_file_prints_one_line_with_path_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed file exits 1 with `error: <path>:<line>: <reason>` on stderr."""
    path = tmp_path / "bad.csv"
    path.write_text("user,item,rating\n1,2,4\n1,3\n")
    assert main(["data", "info", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {path}:3: expected 3 fields, got 2\n"


def test_fetch_of_an_unknown_dataset_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Only ml-100k can be fetched; anything else is rejected by argparse."""
    with pytest.raises(SystemExit) as caught:
        main(["data", "fetch", "ml-25m"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_info_reads_a_listening_log_with_a_mapping_and_log1p(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`recmesh data info plays.dat --format tsv --item artistID --weight log1p` loads a log
    whose item column no usual name finds; the fingerprint follows the weighting."""
    path = tmp_path / "user_artists.dat"
    path.write_text("userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n", encoding="utf-8")
    assert main(["data", "info", str(path)]) == 1
    assert "no item column in header userID, artistID, weight" in capsys.readouterr().err
    base = ["data", "info", str(path), "--json", "--format", "tsv", "--item", "artistID"]
    assert main([*base, "--weight", "log1p"]) == 0
    weighted = json.loads(capsys.readouterr().out)
    assert main(base) == 0
    plain = json.loads(capsys.readouterr().out)
    assert (weighted["rows"], weighted["items"], weighted["item_ids"]) == (2, 2, "integers")
    assert weighted["fingerprint"] != plain["fingerprint"]


def test_info_of_string_ids_and_item_metadata(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Track URIs as ids and a metadata file: the summary says the ids are strings and the
    catalogue holds the metadata's items too."""
    log = tmp_path / "plays.csv"
    log.write_text("user,track\nu1,t:1\nu2,t:1\n", encoding="utf-8")
    meta = tmp_path / "tracks.csv"
    meta.write_text("uri,name\nt:1,One\nt:2,Two\n", encoding="utf-8")
    args = ["data", "info", str(log), "--json", "--item", "track", "--ids", "string"]
    args += ["--items", str(meta)]
    assert main([*args, "--item-id", "uri", "--item-title", "name"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["item_ids"], summary["user_ids"]) == ("strings", "strings")
    assert (summary["items"], summary["catalogue_items"]) == (1, 2)
    assert main(args) == 1
    assert (
        capsys.readouterr().err
        == "error: --items needs --item-id, the item id column of that file\n"
    )


def test_info_errors_name_the_row_group_and_column_of_a_parquet_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A null in a Parquet log: `error: <path>: row group G, row R: column 'C': ...`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "events.parquet"
    pq.write_table(pa.table({"user": [1, None], "item": [1, 2]}), path)
    assert main(["data", "info", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"error: {path}: row group 0, row 2: column 'user': missing value (null)\n"
    )


def test_a_bad_weight_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--weight sqrt is refused by argparse, listing the known weightings."""
    with pytest.raises(SystemExit) as caught:
        main(["data", "info", "x.csv", "--weight", "sqrt"])
    assert caught.value.code == 2
    assert "log1p" in capsys.readouterr().err
