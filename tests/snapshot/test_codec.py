"""snapshot_to_bytes / snapshot_from_bytes: exact, deterministic, and strict on input."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import numpy as np
import pytest

from recmesh.snapshot.codec import FORMAT_VERSION, snapshot_from_bytes, snapshot_to_bytes
from recmesh.snapshot.errors import SnapshotFormatError
from recmesh.snapshot.snapshot import Snapshot
from tests.snapshot.datasets import example_snapshot


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot()


@pytest.fixture(scope="module")
def encoded(snapshot: Snapshot) -> bytes:
    return snapshot_to_bytes(snapshot)


def assert_same_snapshot(a: Snapshot, b: Snapshot) -> None:
    for field in dataclasses.fields(a):
        left, right = getattr(a, field.name), getattr(b, field.name)
        if isinstance(left, np.ndarray):
            assert isinstance(right, np.ndarray), field.name
            assert left.dtype == right.dtype, field.name
            assert left.shape == right.shape, field.name
            assert np.array_equal(left, right), field.name
        else:
            assert type(left) is type(right), field.name
            assert left == right, field.name


def _rewrite(data: bytes, replace: dict[str, bytes | None]) -> bytes:
    """The archive with some entries replaced (bytes) or removed (None)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            if name in replace:
                if replace[name] is not None:
                    target.writestr(name, replace[name])  # type: ignore[arg-type]
            else:
                target.writestr(name, source.read(name))
        for name, body in replace.items():
            if name not in source.namelist() and body is not None:
                target.writestr(name, body)
    return out.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def test_round_trip_is_exact(snapshot: Snapshot, encoded: bytes) -> None:
    """Every field comes back equal, with the same dtypes and shapes."""
    assert_same_snapshot(snapshot, snapshot_from_bytes(encoded))


def test_decoded_arrays_are_read_only(encoded: bytes) -> None:
    """A loaded snapshot is shared by requests, so its arrays refuse writes."""
    with pytest.raises(ValueError, match="read-only"):
        snapshot_from_bytes(encoded).history_weights[0] = 0.0


def test_encoding_is_deterministic(snapshot: Snapshot, encoded: bytes) -> None:
    """The same snapshot always encodes to the same bytes (same artifact sha256)."""
    assert snapshot_to_bytes(snapshot) == encoded
    assert snapshot_to_bytes(snapshot_from_bytes(encoded)) == encoded


def test_non_ascii_and_empty_strings_round_trip(snapshot: Snapshot) -> None:
    """Unicode titles and an empty genre list survive."""
    changed = dataclasses.replace(
        snapshot,
        titles=("Amélie (2001)", "", "東京物語", "a\x00b", "x"),
        dataset_name="ml-λ",
        genre_names=(),
        item_genres=np.zeros((5, 0), dtype=np.float32),
        user_genre_profiles=np.zeros((5, 0), dtype=np.float32),
    )
    assert_same_snapshot(changed, snapshot_from_bytes(snapshot_to_bytes(changed)))


def test_string_ending_in_nul_cannot_be_encoded(snapshot: Snapshot) -> None:
    """numpy unicode arrays drop trailing NULs, so encoding refuses rather than alter."""
    changed = dataclasses.replace(snapshot, titles=("a\x00", "b", "c", "d", "e"))
    with pytest.raises(SnapshotFormatError, match="NUL"):
        snapshot_to_bytes(changed)


def test_invalid_snapshot_cannot_be_encoded(snapshot: Snapshot) -> None:
    """Encoding checks the invariants first."""
    with pytest.raises(SnapshotFormatError):
        snapshot_to_bytes(dataclasses.replace(snapshot, titles=()))


@pytest.mark.parametrize("data", [b"", b"PK", b"garbage" * 100, b"\x93NUMPY"])
def test_bytes_that_are_no_archive_are_refused(data: bytes) -> None:
    """Empty, short, random and half-npy inputs raise SnapshotFormatError."""
    with pytest.raises(SnapshotFormatError):
        snapshot_from_bytes(data)


def test_a_single_npy_array_is_refused() -> None:
    """An .npy file is not a snapshot archive."""
    with pytest.raises(SnapshotFormatError, match="single array"):
        snapshot_from_bytes(_npy(np.arange(3)))


def test_every_truncation_is_refused(encoded: bytes) -> None:
    """Cutting the archive anywhere gives SnapshotFormatError, never another exception."""
    for length in range(0, len(encoded), max(1, len(encoded) // 200)):
        with pytest.raises(SnapshotFormatError):
            snapshot_from_bytes(encoded[:length])


def test_flipped_bytes_are_refused_or_harmless(snapshot: Snapshot, encoded: bytes) -> None:
    """A corrupted byte raises SnapshotFormatError (entry CRCs catch data damage), or sits
    in a field nobody reads and decodes to the same snapshot; nothing else escapes."""
    rng = np.random.default_rng(7)
    refused = 0
    for position in rng.integers(0, len(encoded), 300).tolist():
        corrupted = bytearray(encoded)
        corrupted[position] ^= 0xFF
        try:
            decoded = snapshot_from_bytes(bytes(corrupted))
        except SnapshotFormatError:
            refused += 1
            continue
        assert_same_snapshot(snapshot, decoded)
    assert refused > 200  # most bytes are entry data, guarded by CRCs


def test_other_format_or_version_is_refused(encoded: bytes) -> None:
    """The format name and version are checked before anything else."""
    other = _rewrite(encoded, {"format.npy": _npy(np.array("something-else"))})
    with pytest.raises(SnapshotFormatError, match="not a recmesh snapshot"):
        snapshot_from_bytes(other)
    newer = _rewrite(encoded, {"format_version.npy": _npy(np.array(FORMAT_VERSION + 1))})
    with pytest.raises(SnapshotFormatError, match=f"version {FORMAT_VERSION + 1} is not supported"):
        snapshot_from_bytes(newer)


def test_missing_or_extra_entries_are_refused(encoded: bytes) -> None:
    """The archive holds exactly the snapshot's entries."""
    with pytest.raises(SnapshotFormatError, match="missing \\['popularity'\\]"):
        snapshot_from_bytes(_rewrite(encoded, {"popularity.npy": None}))
    with pytest.raises(SnapshotFormatError, match="unexpected \\['extra'\\]"):
        snapshot_from_bytes(_rewrite(encoded, {"extra.npy": _npy(np.arange(2))}))


def test_pickled_entries_are_refused(encoded: bytes) -> None:
    """Object arrays would need pickle, which loading never allows."""
    pickled = _npy(np.array([{"a": 1}] * 5, dtype=object))
    with pytest.raises(SnapshotFormatError):
        snapshot_from_bytes(_rewrite(encoded, {"titles.npy": pickled}))


def test_entries_of_the_wrong_kind_are_refused(encoded: bytes) -> None:
    """A float where an int array belongs, numbers for strings, a list for a scalar."""
    cases = {
        "item_counts.npy": _npy(np.zeros(5, dtype=np.float64)),
        "titles.npy": _npy(np.zeros(5, dtype=np.int64)),
        "now.npy": _npy(np.array([1, 2])),
        "config.npy": _npy(np.array("{}")),
        "has_demographics.npy": _npy(np.array(1.5)),
    }
    for name, body in cases.items():
        with pytest.raises(SnapshotFormatError):
            snapshot_from_bytes(_rewrite(encoded, {name: body}))


def test_external_ids_are_stored_only_when_there_are_some(
    snapshot: Snapshot, encoded: bytes
) -> None:
    """A snapshot of integer ids holds no external-id entries (its bytes are as before);
    one of string ids stores and reads them back; a wrong count is refused on load."""
    assert not {"item_external_ids.npy", "user_external_ids.npy"} & set(
        zipfile.ZipFile(io.BytesIO(encoded)).namelist()
    )
    named = dataclasses.replace(
        snapshot,
        item_external_ids=tuple(f"spotify:track:{i}" for i in range(snapshot.n_items)),
        user_external_ids=tuple(f"user-{u}" for u in range(snapshot.n_users)),
    )
    data = snapshot_to_bytes(named)
    assert_same_snapshot(named, snapshot_from_bytes(data))
    short = _rewrite(data, {"item_external_ids.npy": _npy(np.array(["a", "b"]))})
    with pytest.raises(SnapshotFormatError, match="item_external_ids has 2 entries"):
        snapshot_from_bytes(short)
