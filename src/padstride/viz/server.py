"""A local web server for the explorer: static files from the package plus ``/api/geometry``.

Standard library only (``http.server``); nothing is built at run time.

>>> server, url = start(port=0)
>>> import json, urllib.request
>>> json.load(urllib.request.urlopen(url + "api/geometry?input=5&kernel=3&padding=same"))["output"]
[5]
>>> server.shutdown(); server.server_close()

Hardened for a page any website could point at it:

- **Host check**: only requests whose ``Host`` is a localhost name (``localhost``, ``127.0.0.1``,
  ``[::1]``) or the ``--host`` the server was started with are answered (403 otherwise), so a
  web page cannot drive it through DNS rebinding.
- **Bounded cost**: connections wait in one selector thread, which also collects each request
  head (up to :data:`MAX_HEAD` bytes); only a complete head goes to the fixed pool of
  :data:`WORKERS` threads, so idle or slow clients hold no thread. A connection that has not sent
  its head within :data:`IDLE_TIMEOUT` seconds is closed; writes time out after
  :data:`REQUEST_TIMEOUT`; at most :data:`MAX_CONNECTIONS` are held open (503 past it). The
  listen backlog is 128.
- **Bounded requests**: a request line up to :data:`MAX_URL` bytes (413 past it), no request
  bodies (413 past :data:`MAX_BODY` bytes, 405 otherwise); the geometry API refuses sizes past
  10^18 and more than 8 axes (413), and answers in O(axes) for any size.
- **Every error answered**: 400/403/404/405/413/500/503, each with a JSON body ``{"error": …}``;
  never a dropped connection.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import mimetypes
import selectors
import socket
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .explorer import geometry_payload

__all__ = [
    "IDLE_TIMEOUT",
    "LOCAL_HOSTS",
    "MAX_BODY",
    "MAX_CONNECTIONS",
    "MAX_HEAD",
    "MAX_URL",
    "REQUEST_TIMEOUT",
    "WORKERS",
    "ExplorerServer",
    "make_server",
    "start",
]

STATIC = ("index.html", "app.js", "style.css")

#: Host names always accepted in the ``Host`` header (with any port).
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
#: Threads answering requests.
WORKERS = 8
#: Open connections held at once (waiting or being answered); past it a connection gets 503.
MAX_CONNECTIONS = 1024
#: Seconds a connection may stay open without sending its request.
IDLE_TIMEOUT = 10.0
#: Seconds a worker waits on a request that started arriving (a slow client).
REQUEST_TIMEOUT = 5.0
#: Longest request target (path and query), in bytes.
MAX_URL = 4096
#: Bytes of a request head (request line and headers) collected before a worker answers it.
MAX_HEAD = 16384
#: Largest request body accepted (the API takes none).
MAX_BODY = 0
#: Query fields read at most.
MAX_FIELDS = 32


def _host_name(header: str) -> str:
    """``Host`` header → lower-case host without the port (``[::1]:8000`` → ``[::1]``)."""
    host = header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class _Handler(BaseHTTPRequestHandler):
    server_version = "padstride"
    server: ExplorerServer
    raw_requestline: bytes  # set by BaseHTTPRequestHandler.handle_one_request (not in typeshed)
    timeout = REQUEST_TIMEOUT

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def setup(self) -> None:
        super().setup()
        head = self.server.take_head(self.request)
        if head is not None:  # the head was collected by the waiting thread: read it from memory
            self.rfile = io.BytesIO(head)

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every error as JSON (the base class sends HTML), connection closed after it."""
        self.close_connection = True
        if not str(getattr(self, "request_version", "")).startswith("HTTP/1"):
            self.request_version = "HTTP/1.0"  # a status line even for garbage (no HTTP/0.9 replies)
        try:
            short = message or HTTPStatus(code).phrase
        except ValueError:
            short = message or "error"
        if code == HTTPStatus.REQUEST_URI_TOO_LONG:
            code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
        self._json(code, {"error": short})

    def parse_request(self) -> bool:
        if len(self.raw_requestline) > MAX_URL + 32:
            self.requestline, self.request_version, self.command = "", "HTTP/1.0", "GET"
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request line longer than {MAX_URL} bytes")
            return False
        if not super().parse_request():
            return False
        host = self.headers.get("Host")
        if host is None or _host_name(host) not in self.server.allowed_hosts:
            self.send_error(HTTPStatus.FORBIDDEN, f"host {host!r} is not served here (only "
                                                  f"{', '.join(sorted(self.server.allowed_hosts))})")
            return False
        length = self.headers.get("Content-Length", "0")
        if not length.strip().isdigit() or int(length) > MAX_BODY:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request bodies are not accepted (got {length[:20]})")
            return False
        return True

    def handle_one_request(self) -> None:
        try:  # (a request that stalls past REQUEST_TIMEOUT is closed by the base class)
            super().handle_one_request()
        except Exception as exc:  # every error is answered, never a dropped connection
            self.close_connection = True
            self._safe_error(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error: {type(exc).__name__}")

    def _safe_error(self, code: int, message: str) -> None:
        try:
            if not hasattr(self, "command") or self.command is None:
                self.command, self.request_version = "GET", "HTTP/1.0"
            self.send_error(code, message)
            self.wfile.flush()
        except OSError:
            pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/api/geometry":
            try:
                query = dict(parse_qsl(url.query, max_num_fields=MAX_FIELDS))
            except ValueError as exc:
                self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": str(exc)})
                return
            payload = geometry_payload(query)
            status = payload.pop("status", HTTPStatus.BAD_REQUEST) if "error" in payload else HTTPStatus.OK
            self._json(status, payload)
            return
        name = url.path.lstrip("/") or "index.html"
        if name not in STATIC:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"not found: {url.path[:100]}"})
            return
        body = resources.files("padstride.viz").joinpath("static", name).read_bytes()
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self._send(HTTPStatus.OK, body, f"{ctype}; charset=utf-8")

    do_HEAD = do_GET

    def _not_allowed(self) -> None:
        self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"method {self.command} is not allowed; use GET"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed


class ExplorerServer(HTTPServer):
    """An HTTP server whose cost is bounded: idle connections wait in one selector (no thread),
    a fixed pool answers the ones whose request has arrived (see the module docstring)."""

    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], allowed_hosts: Iterable[str] = ()) -> None:
        super().__init__(address, _Handler)
        self.allowed_hosts = LOCAL_HOSTS | {_host_name(h) for h in allowed_hosts if h}
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="padstride-serve")
        self._waiting = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._open = 0
        self._wake_r, self._wake_w = socket.socketpair()
        self._waiting.register(self._wake_r, selectors.EVENT_READ, None)
        self._incoming: collections.deque[tuple[Any, Any, float]] = collections.deque()
        self._heads: dict[Any, bytes] = {}
        self._closed = False
        self._waiter = threading.Thread(target=self._wait_loop, name="padstride-serve-wait", daemon=True)
        self._waiter.start()

    @property
    def open_connections(self) -> int:
        """Connections held now (waiting for their request or being answered)."""
        return self._open

    def process_request(self, request: Any, client_address: Any) -> None:
        """Park a new connection until its request arrives (no thread per connection)."""
        with self._lock:
            full = self._open >= MAX_CONNECTIONS
            if not full:
                self._open += 1
        if full:
            self._refuse(request)
            return
        self._incoming.append((request, client_address, time.monotonic()))
        self._wake_w.send(b"\0")

    def _refuse(self, request: Any) -> None:
        body = json.dumps({"error": "too many open connections; try again"}).encode()
        try:
            request.settimeout(1.0)
            request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def _wait_loop(self) -> None:
        while not self._closed:
            try:
                events = self._waiting.select(timeout=1.0)
            except (OSError, ValueError):
                if self._closed:
                    return
                continue
            for key, _ in events:
                if key.data is None:
                    self._wake_r.recv(4096)
                    self._park()
                else:
                    self._read_head(key.fileobj, key.data)
            self._close_idle()

    def _read_head(self, sock: Any, data: list[Any]) -> None:
        """Collect a request head in this thread; hand it to a worker only once it is complete (a
        slow or silent client never holds a worker)."""
        try:
            chunk = sock.recv(8192)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        head: bytearray = data[2]
        head += chunk
        complete = b"\n\r\n" in head or b"\n\n" in head or len(head) > MAX_HEAD
        if chunk and not complete:
            return
        self._waiting.unregister(sock)
        if not head:  # closed before saying anything
            self._release(sock)
            return
        with self._lock:
            self._heads[sock] = bytes(head)
        self._pool.submit(self._answer, sock, data[0])

    def take_head(self, sock: Any) -> bytes | None:
        """The request head collected for ``sock`` (once)."""
        with self._lock:
            return self._heads.pop(sock, None)

    def _park(self) -> None:
        """Register new connections (only this thread touches the selector)."""
        while self._incoming:
            request, client_address, since = self._incoming.popleft()
            request.setblocking(False)
            self._waiting.register(request, selectors.EVENT_READ, [client_address, since, bytearray()])

    def _close_idle(self) -> None:
        now = time.monotonic()
        stale = [key.fileobj for key in list(self._waiting.get_map().values())
                 if key.data is not None and now - key.data[1] > IDLE_TIMEOUT]
        for sock in stale:
            self._waiting.unregister(sock)
            self._release(sock)

    def _answer(self, request: Any, client_address: Any) -> None:
        try:
            request.setblocking(True)
            request.settimeout(REQUEST_TIMEOUT)
            self.finish_request(request, client_address)
        except Exception:  # the handler answered what it could; never kill a worker
            pass
        finally:
            self._release(request)

    def _release(self, request: Any) -> None:
        self.shutdown_request(request)
        with self._lock:
            self._open -= 1
            self._heads.pop(request, None)

    @property
    def url(self) -> str:
        """``http://host:port/`` of the bound socket (``port=0`` resolved to the port picked)."""
        host, port = self.server_address[:2]
        return f"http://{host if isinstance(host, str) else host.decode()}:{port}/"

    def server_close(self) -> None:
        if not hasattr(self, "_wake_w"):  # binding failed inside HTTPServer.__init__: only the socket exists
            super().server_close()
            return
        self._closed = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")
        self._waiter.join(timeout=3)
        for key in list(self._waiting.get_map().values()):
            if key.data is not None and isinstance(key.fileobj, socket.socket):  # a parked connection
                self.shutdown_request(key.fileobj)
        while self._incoming:
            self.shutdown_request(self._incoming.popleft()[0])
        self._waiting.close()
        self._wake_r.close()
        self._wake_w.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        super().server_close()


def make_server(host: str = "127.0.0.1", port: int = 8000, allowed_hosts: Iterable[str] = ()) -> ExplorerServer:
    """The explorer's HTTP server (not started); ``port=0`` picks a free port. ``allowed_hosts``
    adds ``Host`` names to the localhost ones (``padstride serve --host NAME`` adds NAME)."""
    return ExplorerServer((host, port), allowed_hosts)


def start(host: str = "127.0.0.1", port: int = 0, allowed_hosts: Iterable[str] = ()) -> tuple[ExplorerServer, str]:
    """Serve in a background thread; returns the server and its URL (for tests and notebooks)."""
    server = make_server(host, port, allowed_hosts)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return server, server.url
