"""Snapshot <-> bytes: an .npz archive (no pickles), deterministic and checked on load.

Layout: one `.npy` entry per Snapshot array field (EASE's only when the config asks for
EASE); tuples of strings as 1-d numpy unicode arrays (the external ids only when not empty,
so that a dataset with integer ids encodes to the same bytes as before they existed);
scalars as 0-d arrays; the build config as canonical JSON in the 0-d unicode entry
"config"; "format" (= FORMAT_NAME) and "format_version" (= FORMAT_VERSION) mark the layout.
Entries are stored uncompressed, in sorted order, with a fixed timestamp, so the same
snapshot always encodes to the same bytes (and the same sha256 in the artifact store).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recmesh.snapshot.config import SnapshotConfig
from recmesh.snapshot.errors import SnapshotFormatError
from recmesh.snapshot.snapshot import Snapshot
from recmesh.snapshot.validate import (
    ARRAY_FIELDS,
    OPTIONAL_ARRAY_FIELDS,
    OPTIONAL_STRING_FIELDS,
    STRING_FIELDS,
    check_snapshot,
    freeze,
)

FORMAT_NAME = "recmesh-snapshot"
FORMAT_VERSION = 2  # 2: item_factors and user_factors

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_TEXT_SCALARS = ("format", "config", "dataset_name", "dataset_fingerprint")
_SCALARS: dict[str, str] = {
    "format_version": "i",
    "now": "i",
    "global_mean_rating": "f",
    "has_demographics": "b",
}
# What a malformed archive can raise while numpy and zipfile read it.
_READ_ERRORS = (
    zipfile.BadZipFile,
    ValueError,
    OSError,
    EOFError,
    KeyError,
    struct.error,
    zlib.error,
    NotImplementedError,
)


def snapshot_to_bytes(snapshot: Snapshot) -> bytes:
    """Encodes a snapshot; raises SnapshotFormatError when it breaks an invariant or holds a
    string that cannot round-trip (numpy unicode arrays drop trailing NUL characters)."""
    check_snapshot(snapshot)
    entries: dict[str, NDArray[Any]] = {
        "format": np.array(FORMAT_NAME),
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "config": np.array(snapshot.config.to_json()),
        "dataset_name": np.array(_text(snapshot.dataset_name, "dataset_name")),
        "dataset_fingerprint": np.array(
            _text(snapshot.dataset_fingerprint, "dataset_fingerprint")
        ),
        "now": np.array(snapshot.now, dtype=np.int64),
        "global_mean_rating": np.array(snapshot.global_mean_rating, dtype=np.float64),
        "has_demographics": np.array(snapshot.has_demographics, dtype=np.bool_),
    }
    for name in ARRAY_FIELDS:
        entries[name] = getattr(snapshot, name)
    if snapshot.config.ease_neighbors_per_item > 0:
        for name in OPTIONAL_ARRAY_FIELDS:
            entries[name] = getattr(snapshot, name)
    for name in STRING_FIELDS:
        values = [_text(v, name) for v in getattr(snapshot, name)]
        entries[name] = np.array(values, dtype=np.str_) if values else np.zeros(0, "<U1")
    for name in OPTIONAL_STRING_FIELDS:
        values = [_text(v, name) for v in getattr(snapshot, name)]
        if values:
            entries[name] = np.array(values, dtype=np.str_)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, entries[name], allow_pickle=False)
    return buffer.getvalue()


def snapshot_from_bytes(data: bytes) -> Snapshot:
    """Decodes and checks a snapshot; raises SnapshotFormatError on anything malformed."""
    arrays = _read_archive(data)
    expected = {*_TEXT_SCALARS, *_SCALARS, *ARRAY_FIELDS, *STRING_FIELDS}
    if _scalar_text(arrays, "format") != FORMAT_NAME:
        raise SnapshotFormatError("not a recmesh snapshot")
    version = _scalar(arrays, "format_version", "i")
    if version != FORMAT_VERSION:
        raise SnapshotFormatError(
            f"snapshot format version {version} is not supported (expected {FORMAT_VERSION})"
        )
    config = SnapshotConfig.from_json(_scalar_text(arrays, "config"))
    if config.ease_neighbors_per_item > 0:
        expected |= set(OPTIONAL_ARRAY_FIELDS)
    if set(arrays) - set(OPTIONAL_STRING_FIELDS) != expected:
        present = set(arrays) - set(OPTIONAL_STRING_FIELDS)
        missing, extra = sorted(expected - present), sorted(present - expected)
        raise SnapshotFormatError(f"snapshot entries missing {missing}, unexpected {extra}")
    fields: dict[str, Any] = {
        "config": config,
        "dataset_name": _scalar_text(arrays, "dataset_name"),
        "dataset_fingerprint": _scalar_text(arrays, "dataset_fingerprint"),
        "now": int(_scalar(arrays, "now", "i")),
        "global_mean_rating": float(_scalar(arrays, "global_mean_rating", "f")),
        "has_demographics": bool(_scalar(arrays, "has_demographics", "b")),
    }
    for name in (*ARRAY_FIELDS, *(f for f in OPTIONAL_ARRAY_FIELDS if f in arrays)):
        fields[name] = freeze(arrays[name])
    for name in (*STRING_FIELDS, *(f for f in OPTIONAL_STRING_FIELDS if f in arrays)):
        values = arrays[name]
        if values.ndim != 1 or values.dtype.kind != "U":
            raise SnapshotFormatError(f"{name} must be a 1-d unicode array")
        fields[name] = tuple(str(v) for v in values.tolist())
    snapshot = Snapshot(**fields)
    check_snapshot(snapshot)
    return snapshot


def _read_archive(data: bytes) -> dict[str, NDArray[Any]]:
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                return {name: loaded[name] for name in loaded.files}
    except _READ_ERRORS as exc:
        raise SnapshotFormatError(f"snapshot bytes do not decode: {exc!r}") from exc
    raise SnapshotFormatError("snapshot bytes are a single array, not an npz archive")


def _scalar(arrays: dict[str, NDArray[Any]], name: str, kind: str) -> Any:
    value = arrays.get(name)
    if value is None or value.ndim != 0 or value.dtype.kind != kind:
        raise SnapshotFormatError(f"snapshot entry {name!r} is missing or not a scalar")
    return value.item()


def _scalar_text(arrays: dict[str, NDArray[Any]], name: str) -> str:
    return str(_scalar(arrays, name, "U"))


def _text(value: str, name: str) -> str:
    if value.endswith("\x00"):
        raise SnapshotFormatError(f"{name}: a string ending in NUL cannot be stored")
    return value
