"""A local web server for the explorer: static files from the package plus ``/api/geometry``.

Standard library only (``http.server``); nothing is built at run time.

>>> server, url = start(port=0)
>>> import json, urllib.request
>>> json.load(urllib.request.urlopen(url + "api/geometry?input=5&kernel=3&padding=same"))["output"]
[5]
>>> server.shutdown(); server.server_close()
"""

from __future__ import annotations

import json
import mimetypes
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qsl, urlsplit

from .explorer import geometry_payload

__all__ = ["make_server", "start"]

STATIC = ("index.html", "app.js", "style.css")


class _Handler(BaseHTTPRequestHandler):
    server_version = "padstride"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/api/geometry":
            payload = geometry_payload(dict(parse_qsl(url.query)))
            status = HTTPStatus.BAD_REQUEST if "error" in payload else HTTPStatus.OK
            self._send(status, json.dumps(payload).encode(), "application/json")
            return
        name = url.path.lstrip("/") or "index.html"
        if name not in STATIC:
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
            return
        body = resources.files("padstride.viz").joinpath("static", name).read_bytes()
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self._send(HTTPStatus.OK, body, f"{ctype}; charset=utf-8")


def make_server(host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """The explorer's HTTP server (not started); ``port=0`` picks a free port."""
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    return server


def start(host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Serve in a background thread; returns the server and its URL (for tests and notebooks)."""
    server = make_server(host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    addr = server.server_address
    return server, f"http://{addr[0]}:{addr[1]}/"
