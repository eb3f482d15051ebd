"""Fetches MovieLens 100K once into a verified on-disk cache.

The cache is `data_dir/ml-100k` in the layout of `recmesh.data.ml100k_layout`.
It is built in a temporary directory beside it and renamed into place only once
complete, checked and loadable, so an interrupted fetch never leaves a partial
cache behind; `manifest.json` records the source and the sha256 of each file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from recmesh.console.progress import NullProgress, Progress
from recmesh.data import ml100k_layout as layout
from recmesh.data.errors import (
    ChecksumMismatchError,
    DataError,
    DataFormatError,
    DataUnavailableError,
)
from recmesh.data.ml100k import load_ml100k
from recmesh.data.ml100k_sources import DATASET, GroupLensZip, Ml100kSource, RecboleWheel
from recmesh.files.repo_paths import REPO_ROOT

DATA_DIR_ENV = "RECMESH_DATA_DIR"
CACHE_FORMAT = 1
ML100K_COUNTS = {"ratings": 100_000, "users": 943, "items": 1_682}


def default_data_dir() -> Path:
    """`$RECMESH_DATA_DIR` when set, else `<repo>/var/data` (gitignored)."""
    configured = os.environ.get(DATA_DIR_ENV, "")
    return Path(configured) if configured else REPO_ROOT / "var" / "data"


def default_sources() -> tuple[Ml100kSource, ...]:
    """GroupLens's own zip first, then the copy in the recbole wheel on PyPI."""
    return (GroupLensZip(), RecboleWheel())


def cache_problem(directory: Path) -> str | None:
    """Why `directory` is not a verified ml-100k cache, or None when it is one.

    Verified means: manifest.json of this format, every file present with the
    sha256 the manifest records, and ratings.tsv with the official u.data sha256.
    """
    manifest_path = directory / layout.MANIFEST_FILE
    if not manifest_path.is_file():
        return f"no {layout.MANIFEST_FILE}"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        recorded = dict(manifest["files"])
        cache_format = manifest["format"]
    except (ValueError, KeyError, TypeError) as exc:
        return f"unreadable {layout.MANIFEST_FILE}: {exc!r}"
    if cache_format != CACHE_FORMAT:
        return f"cache format {cache_format!r}, expected {CACHE_FORMAT}"
    if recorded.get(layout.RATINGS_FILE) != layout.ML100K_RATINGS_SHA256:
        return f"{layout.RATINGS_FILE} is not recorded with the official u.data sha256"
    for name in (layout.RATINGS_FILE, layout.ITEMS_FILE, layout.USERS_FILE):
        path = directory / name
        if not path.is_file():
            return f"{name} is missing"
        actual = _sha256(path.read_bytes())
        if actual != recorded.get(name):
            return f"{name} has sha256 {actual}, manifest says {recorded.get(name)}"
    return None


def fetch_ml100k(
    data_dir: Path,
    progress: Progress | None = None,
    sources: Sequence[Ml100kSource] | None = None,
) -> Path:
    """Returns `data_dir/ml-100k`, fetching MovieLens 100K into it unless already there.

    A verified cache (see `cache_problem`) is returned at once. Otherwise each of
    `sources` (default: `default_sources()`) is tried in order until one yields
    ratings with the official u.data sha256 and a cache that loads with the
    expected counts; a cache that fails verification is replaced. Raises
    DataUnavailableError listing every source tried and why it failed, or
    DataFormatError when `data_dir/ml-100k` exists but is not a recmesh cache (it
    is never overwritten then).
    """
    progress = progress or NullProgress()
    target = data_dir / DATASET
    if target.exists():
        problem = cache_problem(target)
        if problem is None:
            return target
        if not (target / layout.MANIFEST_FILE).exists() and any(target.iterdir()):
            raise DataFormatError(
                target, None, f"exists but is not a recmesh {DATASET} cache ({problem}); move it"
            )
        progress.start(None, f"cache {target} is invalid ({problem}); fetching again")
        progress.finish("replacing")
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=f".{DATASET}.fetch-") as work:
        workdir = Path(work)
        staging = workdir / DATASET
        attempts: list[tuple[str, str]] = []
        for source in default_sources() if sources is None else sources:
            download = workdir / f"download-{len(attempts)}"
            download.mkdir()
            try:
                content = source.obtain(download, progress)
                _stage(staging, content, source.name, progress)
            except DataError as exc:
                attempts.append((source.name, _why(exc)))
                progress.start(None, f"{DATASET} from {source.name}")
                progress.finish(f"failed: {_why(exc)}")
                if staging.exists():
                    shutil.rmtree(staging)
                continue
            _install(staging, target, workdir)
            return target
    raise DataUnavailableError(DATASET, attempts)


def _stage(staging: Path, content: layout.Ml100kContent, source: str, progress: Progress) -> None:
    """Writes, verifies and test-loads the cache files in `staging`."""
    progress.start(None, f"verifying and caching {DATASET} from {source}")
    try:
        actual = _sha256(content.ratings)
        if actual != layout.ML100K_RATINGS_SHA256:
            raise ChecksumMismatchError(f"{source} ratings", layout.ML100K_RATINGS_SHA256, actual)
        files = {
            layout.RATINGS_FILE: content.ratings,
            layout.ITEMS_FILE: layout.encode_items(content.items),
            layout.USERS_FILE: layout.encode_users(content.users),
        }
        staging.mkdir()
        for name, data in files.items():
            _write_synced(staging / name, data)
        dataset = load_ml100k(staging)
        counts = {
            "ratings": len(dataset.interactions),
            "users": 0 if dataset.users is None else int(dataset.users.user_ids.shape[0]),
            "items": int(dataset.items.item_ids.shape[0]),
        }
        if counts != ML100K_COUNTS:
            raise DataFormatError(staging, None, f"expected {ML100K_COUNTS}, loaded {counts}")
        manifest = {
            "format": CACHE_FORMAT,
            "dataset": DATASET,
            "source": source,
            "files": {name: _sha256(data) for name, data in files.items()},
            "fingerprint": dataset.fingerprint,
        }
        _write_synced(
            staging / layout.MANIFEST_FILE,
            (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"),
        )
    except DataError:
        progress.finish("failed")
        raise
    progress.finish()


def _install(staging: Path, target: Path, workdir: Path) -> None:
    """Renames `staging` to `target`, moving an invalid old cache out of the way first.

    If another process installs a verified cache concurrently, that one is kept.
    """
    if target.exists():
        if cache_problem(target) is None:
            return
        os.rename(target, workdir / "replaced")
    try:
        os.rename(staging, target)
    except OSError:
        if cache_problem(target) is None:
            return
        raise
    _fsync_dir(target.parent)


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _why(exc: DataError) -> str:
    if isinstance(exc, DataUnavailableError) and exc.attempts:
        return "; ".join(why for _, why in exc.attempts)
    return str(exc)
