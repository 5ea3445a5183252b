"""HTTP: a real ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive, so that injected
faults can drop connections for real and clients exercise their actual connection handling.

Routes: ``/api/v1/...`` (the DashScope API, bearer auth), ``/oss`` (the upload form target),
``/results/...`` (signed result downloads, with Range support) and ``/admin/...`` (loopback
only, no auth). Access logs go to the ``wan_dagster.emulator`` logger at DEBUG and never
contain headers, so the API key cannot leak through them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from wan_dagster.dashscope.registry import MAX_BODY_BYTES

from .api import ApiError, DashScopeApi, DropConnection, Reply, new_request_id
from .billing import Bill, Counters
from .blobs import BlobStore
from .clock import Clock
from .faults import Faults
from .oss import OssError, Signer
from .quota import FreeQuota
from .uploads import MAX_FILE_SIZE_MB, Uploads

log = logging.getLogger("wan_dagster.emulator")


class EmulatorParts(Protocol):
    """The parts of the emulator that requests reach; ``app.Emulator`` provides them (a
    protocol, so that the server does not import the app that starts it)."""

    api: DashScopeApi
    uploads: Uploads
    clock: Clock
    counters: Counters
    signer: Signer
    blobs: BlobStore
    faults: Faults
    bill: Bill
    quota: FreeQuota

    def reset(self) -> None: ...

API_PREFIX = "/api/v1"
_CANCEL = re.compile(r"/tasks/([^/]+)/cancel/?")
_TASK = re.compile(r"/tasks/([^/]+)/?")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "mp4": "video/mp4"}
#: Multipart overhead allowed on top of the largest upload.
_FORM_OVERHEAD = 1024 * 1024
_CHUNK = 64 * 1024


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Threads per connection (daemon), and a record of open connections so ``close_all``
    can end idle keep-alive connections at shutdown instead of leaving clients hanging."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, emulator: EmulatorParts):
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), Handler)

    def track(self, conn: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(conn)

    def close_all(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _TooLarge(Exception):
    """The request body exceeds the route's limit (it was drained, not kept)."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DashScopeEmulator/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server: EmulatorHTTPServer

    # ------------------------------------------------------------------ plumbing

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.client_address[0], format % args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    @property
    def emulator(self) -> EmulatorParts:
        return self.server.emulator

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        path, query = url.path, dict(parse_qsl(url.query))
        try:
            if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                self._api(path[len(API_PREFIX):], query)
            elif path.startswith("/results/") and self.command in ("GET", "HEAD"):
                self._download(path, query)
            elif path.rstrip("/") == "/oss" and self.command == "POST":
                self._oss_upload()
            elif path.startswith("/admin/"):
                self._admin(path)
            else:
                self._drain()
                self._send_json(Reply(404, {"code": "NotFound", "message": f"No route {path}.",
                                            "request_id": new_request_id()}))
        except DropConnection:
            self._drop()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            log.exception("emulator error on %s %s", self.command, path)
            self.close_connection = True  # the stream may be mid-answer: do not reuse it
            self._send_json(Reply(500, {"code": "InternalError",
                                        "message": "Internal server error",
                                        "request_id": new_request_id()}))

    def _read_body(self, limit: int) -> bytes:
        """The whole body (Content-Length or chunked). Over ``limit`` it is read and thrown
        away, then _TooLarge is raised, so the answer still reaches the client."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = self._read_chunks()
        else:
            chunks = self._read_length(int(self.headers.get("Content-Length") or 0))
        body, size = [], 0
        for chunk in chunks:
            size += len(chunk)
            if size <= limit:
                body.append(chunk)
        if size > limit:
            raise _TooLarge()
        return b"".join(body)

    def _read_length(self, length: int) -> Iterator[bytes]:
        while length > 0:
            chunk = self.rfile.read(min(_CHUNK, length))
            if not chunk:
                raise ConnectionResetError("client closed the connection mid-body")
            length -= len(chunk)
            yield chunk

    def _read_chunks(self) -> Iterator[bytes]:
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            yield from self._read_length(size)
            self.rfile.readline()  # the CRLF after each chunk

    def _drain(self) -> None:
        try:
            self._read_body(0)
        except _TooLarge:
            pass

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, reply: Reply) -> None:
        body = json.dumps(reply.body, ensure_ascii=False).encode()
        self._send(reply.status, body, "application/json", reply.headers)

    def _drop(self) -> None:
        """Close the socket without a byte of answer, as a crashed gateway would."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------------ /api/v1

    def _api(self, route: str, query: dict[str, str]) -> None:
        api = self.emulator.api
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            try:
                raw = self._read_body(MAX_BODY_BYTES)
                too_large = False
            except _TooLarge:
                raw, too_large = b"", True
            api.authenticate(headers.get("authorization"))
            if too_large:
                raise ApiError(413, "BadRequest.TooLarge",
                               f"The request body is larger than {MAX_BODY_BYTES // 2**20} MiB.")
            reply = self._api_route(route, query, headers, raw)
        except ApiError as err:
            reply = Reply(err.status, {"code": err.code, "message": err.message,
                                       "request_id": new_request_id()}, err.headers)
        self._send_json(reply)

    def _api_route(self, route: str, query: dict[str, str], headers: dict[str, str],
                   raw: bytes) -> Reply:
        api = self.emulator.api
        if self.command == "POST":
            cancel = _CANCEL.fullmatch(route)
            if cancel:
                return api.cancel(cancel.group(1))
            return api.create(route, headers, raw, self._client_gone)
        if self.command == "GET":
            if route.rstrip("/") == "/tasks":
                return api.list(query)
            task = _TASK.fullmatch(route)
            if task:
                return api.fetch(task.group(1))
            if route.rstrip("/") == "/uploads":
                return api.upload_policy(query)
        raise ApiError(400, "InvalidParameter", "url error, please check url!")

    # ------------------------------------------------------------------ /oss and /results

    def _oss_upload(self) -> None:
        uploads = self.emulator.uploads
        received_at = self.emulator.clock.now()
        try:
            try:
                body = self._read_body(MAX_FILE_SIZE_MB * 1024 * 1024 + _FORM_OVERHEAD)
            except _TooLarge:
                raise OssError(400, "EntityTooLarge",
                               "Your proposed upload exceeds the maximum allowed size.") from None
            status = uploads.accept_form(self.headers.get("Content-Type") or "", body,
                                         received_at)
        except OssError as err:
            self._send(err.status, err.to_xml(), "application/xml")
            return
        self._send(status, b"", "text/plain")

    def _download(self, path: str, query: dict[str, str]) -> None:
        emulator = self.emulator
        self._drain()
        emulator.counters.add("downloads")
        try:
            emulator.signer.check_download(path, query, emulator.clock.now())
            data = emulator.blobs.get(path.lstrip("/"))
            if data is None:
                raise OssError(404, "NoSuchKey", "The specified key does not exist.")
        except OssError as err:
            self._send(err.status, err.to_xml(), "application/xml")
            return
        content_type = _CONTENT_TYPES.get(path.rsplit(".", 1)[-1], "application/octet-stream")
        headers = {"Accept-Ranges": "bytes",
                   "ETag": f'"{hashlib.md5(data).hexdigest().upper()}"'}
        status, data = self._apply_range(data, headers)
        if status == 416:
            self._send(416, b"", content_type, headers)
            return
        if self.command == "GET" and emulator.faults.fires("truncated_download"):
            self._send_half(status, data, content_type, headers)
            self._drop()
            return
        if self.command == "GET" and emulator.faults.hold_due("download_hold"):
            rest = self._send_half(status, data, content_type, headers)
            if not emulator.faults.hold("download_hold", self._client_gone):
                self._drop()
                return
            self.wfile.write(rest)
            return
        self._send(status, data, content_type, headers)

    def _apply_range(self, data: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """Honour one ``Range: bytes=a-b``; anything else gets the whole file."""
        match = _RANGE.fullmatch((self.headers.get("Range") or "").strip())
        if match is None or match.groups() == ("", ""):
            return 200, data
        first, last = match.groups()
        size = len(data)
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(size - 1, int(last)) if last else size - 1
        if start >= size or start > end:
            headers["Content-Range"] = f"bytes */{size}"
            return 416, b""
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return 206, data[start:end + 1]

    def _send_half(self, status: int, data: bytes, content_type: str,
                   headers: dict[str, str]) -> bytes:
        """Announce the full length and send about half (a transfer about to be cut off or
        held); returns the rest."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:len(data) // 2])
        return data[len(data) // 2:]

    def _client_gone(self) -> bool:
        """Whether the client closed its end (EOF or reset waiting on the socket); a held
        request polls this. Bytes it sent ahead (a pipelined request) do not count as gone."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):  # reset, or the socket was closed under us
            return True

    # ------------------------------------------------------------------ /admin

    def _admin(self, path: str) -> None:
        emulator = self.emulator
        raw = self._read_body(MAX_BODY_BYTES)
        if not ipaddress.ip_address(self.client_address[0].split("%")[0]).is_loopback:
            self._send_json(Reply(403, {"code": "AccessDenied", "message":
                                        "Admin endpoints answer loopback clients only."}))
            return
        route = (self.command, path.rstrip("/"))
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            if route == ("GET", "/admin/bill"):
                result: dict[str, Any] = emulator.bill.to_json()
            elif route == ("GET", "/admin/counters"):
                result = emulator.counters.snapshot()
            elif route == ("GET", "/admin/faults"):
                result = asdict(emulator.faults.config)
            elif route == ("POST", "/admin/faults"):
                result = asdict(emulator.faults.update(**body))
            elif route == ("POST", "/admin/faults/release"):
                result = {"released": emulator.faults.release()}
            elif route == ("POST", "/admin/faults/inject"):
                emulator.faults.inject(body.get("stage", ""), body.get("kind", ""),
                                       int(body.get("times", 1)))
                result = {"injected": body}
            elif route == ("GET", "/admin/quota"):
                result = emulator.quota.snapshot()
            elif route == ("POST", "/admin/quota"):
                result = emulator.quota.set_limits(body)
            elif route == ("POST", "/admin/advance"):
                emulator.clock.advance(float(body["seconds"]))
                result = {"advanced_seconds": float(body["seconds"])}
            elif route == ("POST", "/admin/reset"):
                emulator.reset()
                result = {"reset": True}
            else:
                self._send_json(Reply(404, {"code": "NotFound",
                                            "message": f"No admin route {self.command} {path}."}))
                return
        except (ValueError, KeyError, TypeError) as exc:
            self._send_json(Reply(400, {"code": "InvalidParameter", "message": str(exc)}))
            return
        self._send_json(Reply(200, result))
