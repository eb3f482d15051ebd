"""A loopback HTTP proxy in front of the real S3 server that misbehaves on purpose: it
answers the first requests `503 SlowDown` (S3's throttling answer) and cuts the body of
the first object downloads halfway, then forwards everything as it is.

Requests are forwarded with their headers untouched (the Host header included), so the
server checks the client's signature as if it had been called directly.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


@dataclass
class Faults:
    """How many requests are still to be throttled and downloads still to be cut; what
    was done."""

    throttle: int = 0
    cut_downloads: int = 0
    throttled: int = 0
    cut: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_throttle(self) -> bool:
        with self.lock:
            if self.throttle == 0:
                return False
            self.throttle -= 1
            self.throttled += 1
            return True

    def take_cut(self) -> bool:
        with self.lock:
            if self.cut_downloads == 0:
                return False
            self.cut_downloads -= 1
            self.cut += 1
            return True


@contextmanager
def faulty_s3_proxy(upstream: str, faults: Faults) -> Iterator[str]:
    """Serves a proxy to upstream (`http://host:port`) on a free loopback port while the
    context lasts; yields its endpoint URL."""
    target = urlsplit(upstream)
    assert target.hostname is not None
    assert target.port is not None

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length) if length else None
            if faults.take_throttle():
                self._answer(503, _SLOW_DOWN, {"Content-Type": "application/xml"})
                return
            assert target.hostname is not None
            upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            try:
                upstream_conn.request(
                    self.command, self.path, body=body, headers=dict(self.headers.items())
                )
                response = upstream_conn.getresponse()
                data = response.read()
                headers = {
                    k: v
                    for k, v in response.getheaders()
                    if k.lower() not in ("transfer-encoding", "connection", "content-length")
                }
            finally:
                upstream_conn.close()
            cut = (
                self.command == "GET"
                and response.status == 200
                and len(data) > 1
                and faults.take_cut()
            )
            if cut:
                # The whole length is announced, half the bytes are sent, the connection
                # closes: a download broken after its response started.
                self.send_response(response.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            # A HEAD answer announces the object's length without sending it.
            announced = response.getheader("Content-Length") if self.command == "HEAD" else None
            self._answer(response.status, data, headers, announced)

        def _answer(
            self, status: int, data: bytes, headers: dict[str, str], length: str | None = None
        ) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", length or str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
