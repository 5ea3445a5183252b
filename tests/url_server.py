"""A real HTTP server on loopback serving the remote image URLs of test catalogs: good images,
and every way a merchant's URL goes bad (not a test module).

Paths: ``/images/<name>`` the sample image ``data/images/<name>``; ``/missing.png`` 404;
``/hang.png`` answers nothing until the server stops; ``/page.png`` an HTML error page served
200; ``/huge.png`` declares 100 MB; ``/endless.png`` streams without a declared length until
the client stops reading.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
#: How long a hanging request is held at most, so that a stuck client cannot keep a thread.
HANG_LIMIT_S = 30.0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.requests.append(self.path)
        if self.path.startswith("/images/"):
            image = DATA / "images" / Path(self.path).name
            self._answer(200, "image/png" if image.suffix == ".png" else "image/jpeg",
                         image.read_bytes())
        elif self.path == "/hang.png":
            self.server.stopping.wait(HANG_LIMIT_S)
        elif self.path == "/page.png":
            self._answer(200, "text/html; charset=utf-8", b"<html>Not here</html>")
        elif self.path == "/huge.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(100_000_000))
            self.end_headers()
            self.wfile.write(b"\x89PNG\r\n\x1a\n")
        elif self.path == "/endless.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                while not self.server.stopping.is_set():
                    self.wfile.write(b"\0" * 65536)
            except OSError:  # the client stopped reading: what it should do
                pass
        else:
            self._answer(404, "text/plain", b"not found")

    def _answer(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stopping = threading.Event()
        self.requests: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def url_server() -> Iterator[_Server]:
    """The started server; stopped (and every hanging request released) afterwards."""
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
