"""A tiny threaded HTTP server on 127.0.0.1 for fake providers.

Each fake subclasses `FakeHandler` and implements `route()`. Behaviour is
chosen by markers in the prompt (e.g. `[error:Throttling]`), so a consumer
running in another process drives the fake just by what it asks for. The
switches every fake shares:
  [error:X]        answer the fake's error X ...
  [times:N]        ...only for the first N calls with this prompt, then succeed
                   (limits [slow] the same way)
  [retry_after:S]  send `Retry-After: S` with the error
  [slow:S]         sleep S seconds before answering
  [drop]           hang up without answering
  [garbage]        answer 200 with an HTML page
  [badimage]       succeed, but the image URL serves HTML, not an image
  [image:KIND]     the image URL answers 404, html, huge (60 MB) or wrongsize
  [imageslow:S]    the image URL takes S seconds to answer
A whole-provider outage is `server.outage = True` (every call answers 500).
"""

from __future__ import annotations

import io
import json
import re
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from PIL import Image


def png_bytes(width: int, height: int, key: str) -> bytes:
    """A deterministic PNG for `key`, so a test can rebuild what was served."""
    seed = sum(key.encode()) % 256
    image = Image.new("RGB", (width, height), (seed, 255 - seed, (seed * 7) % 256))
    image.putpixel((0, 0), (len(key) % 256, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def markers(prompt: str) -> dict[str, str]:
    """`[error:Throttling] [times:2] [slow:1.5]` -> {"error": "Throttling", ...}."""
    return {m[1]: m[2] for m in re.finditer(r"\[(\w+)(?::([^\]]*))?\]", prompt)}


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: FakeServer

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        self.server.record(method, url.path, dict(self.headers), body, self.client_address[1])
        if method == "GET" and url.path.startswith("/images/"):
            return self.serve_image(url.path, parse_qs(url.query))
        if self.server.outage:  # the whole provider is down, whatever was asked
            return self.send(
                500,
                {
                    "code": "InternalError",
                    "message": "fake outage",
                    "error": {"message": "fake outage", "type": "server_error"},
                },
            )
        self.route(method, url.path, parse_qs(url.query), body)

    def route(self, method, path, query, body):
        self.send(404, {"message": "no such route"})

    def shared_switches(self, mark: dict, key: str = "") -> bool:
        """[slow], [drop] and [garbage]; True when the request is dealt with.
        With [times:N], [slow] applies to the first N calls with `key` only."""
        if "slow" in mark and self.server.count(f"slow|{key}") <= int(mark.get("times") or 10**9):
            time.sleep(float(mark["slow"]))
        if "drop" in mark:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if "garbage" in mark:
            self.send(200, b"<html><body>502 Bad Gateway</body></html>", content_type="text/html")
            return True
        return False

    def error_to_send(self, mark: dict, key: str, name: str = "error") -> str | None:
        """The error `[name:X]` asks for, unless [times:N] calls with `key` had it."""
        if name not in mark:
            return None
        if self.server.count(f"{name}|{key}") > int(mark.get("times") or 10**9):
            return None
        return mark[name]

    def error_headers(self, mark: dict) -> dict:
        return {"Retry-After": mark["retry_after"]} if "retry_after" in mark else {}

    def image_data(self, width: int, height: int, key: str, mark: dict) -> bytes:
        """The image bytes, spoilt as [image:html|huge|wrongsize] or [badimage] ask."""
        kind = mark.get("image")
        if kind == "html" or "badimage" in mark:
            return b"<html><body>Access denied</body></html>"
        if kind == "huge":
            return png_bytes(width, height, key) + b"\0" * (60 * 1024 * 1024)
        if kind == "wrongsize":
            return png_bytes(width // 2, height // 2, key)
        return png_bytes(width, height, key)

    def image_url(self, width: int, height: int, key: str, mark: dict) -> str:
        """Where the image is served; [image:404] gives a dead link and
        [imageslow:S] a slow one."""
        name = f"{uuid.uuid4().hex}.png"
        if mark.get("image") == "404":
            return f"{self.server.url}/images/{name}"
        data = self.image_data(width, height, key, mark)
        content_type = "image/png" if data.startswith(b"\x89PNG") else "text/html"
        delay = float(mark.get("imageslow") or 0)
        return self.server.add_image(name, data, content_type=content_type, delay=delay)

    def serve_image(self, path, query):
        data, content_type, delay = self.server.images.get(path, (None, "", 0))
        if data is None:
            return self.send(404, b"gone", content_type="text/plain")
        time.sleep(delay)
        self.send(200, data, content_type=content_type)

    def send(self, status: int, payload, *, content_type="application/json", headers=None):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        head = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", f"Content-Length: {len(data)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        # Headers and body in one write: no false loopback latency.
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[FakeHandler], port: int = 0):
        super().__init__(("127.0.0.1", port), handler)
        self.outage = False  # True: every call (not image downloads) answers 500
        self.connections: list[socket.socket] = []
        self.requests: list[dict] = []
        self.images: dict[str, bytes] = {}
        self.counters: dict[str, int] = {}
        self.lock = threading.Lock()

    def get_request(self):
        conn, address = super().get_request()
        with self.lock:
            self.connections.append(conn)
        return conn, address

    def drop_connections(self) -> None:
        """Hang up every connection still open (kept alive by a client), as
        a provider that goes away does: its clients see them closed."""
        with self.lock:
            conns, self.connections = self.connections, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        """A client dropping a kept-alive connection (a stopped web process or
        worker) is how keep-alive ends, not an error worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, method, path, headers, body, port=None):
        """`port`: the caller's, telling its connections apart."""
        with self.lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "headers": headers,
                    "body": body,
                    "at": time.monotonic(),
                    "port": port,
                }
            )

    def reset(self) -> None:
        """Forget earlier tests' calls, so [times:N] counts from zero."""
        with self.lock:
            self.requests.clear()
            self.counters.clear()

    def count(self, key: str) -> int:
        """How many times `key` was seen, this time included."""
        with self.lock:
            self.counters[key] = self.counters.get(key, 0) + 1
            return self.counters[key]

    def add_image(self, name: str, data: bytes, *, content_type: str = "image/png", delay: float = 0) -> str:
        path = f"/images/{name}"
        self.images[path] = (data, content_type, delay)
        return self.url + path

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
