"""A loopback HTTP server for the data tests: files from a folder, ``Range`` requests honoured.

The test machines cannot reach the network, so :mod:`asm_pace.data` is tested against this
server, which serves a folder laid out like the real hosts (``GFC-2025-v1.13/Hansen_...tif``)
on ``127.0.0.1`` at a free port. It answers ``GET`` with 200 (the whole file) or, for a
``Range: bytes=A-`` / ``bytes=A-B`` header, 206 with ``Content-Range`` (416 past the end), and
404 for a missing file. ``cut`` makes the next answers stop early (a truncated download):
``server.cut[path] = n`` sends only the first ``n`` bytes of the body announced. Each file has
an ``ETag`` (its SHA-256's first 16 hex digits); an ``If-Range`` that is not the current one
gets the whole file (200), as RFC 9110 says. Every request is logged as ``(path, range header
or None, status)``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Handler(BaseHTTPRequestHandler):
    server: DataServer  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # silence stderr
        return

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, *, body: bool) -> None:
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        path = (self.server.root / rel).resolve()
        wanted = self.headers.get("Range")
        if self.server.root not in path.parents or not path.is_file():
            self._log(rel, wanted, 404)
            self._plain(404, b"not found")
            return
        data = path.read_bytes()
        size = len(data)
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        status, start, end = 200, 0, size - 1
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted or "")
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range != etag:
            m = None  # the file changed since: the whole file (RFC 9110 If-Range)
        if wanted and m:
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            if start >= size:
                self._log(rel, wanted, 416)
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        part = data[start : end + 1]
        self._log(rel, wanted, status)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(part)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        cut = self.server.cut.pop(rel, None)
        if cut is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body:
            self.wfile.write(part if cut is None else part[:cut])
            self.wfile.flush()

    def _plain(self, status: int, text: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def _log(self, rel: str, wanted: str | None, status: int) -> None:
        with self.server.lock:
            self.server.log.append((rel, wanted, status))


class DataServer(ThreadingHTTPServer):
    """The server; ``url`` is its address, ``root`` the folder it serves."""

    daemon_threads = True

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = Path(root).resolve()
        self.cut: dict[str, int] = {}
        self.log: list[tuple[str, str | None, int]] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> DataServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)
