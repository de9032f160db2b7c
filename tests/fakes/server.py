"""A tiny threaded HTTP server on 127.0.0.1 for fake providers.

Each fake subclasses `FakeHandler` and implements `route()`. Behaviour is
chosen by markers in the prompt (e.g. `[error:Throttling]`), so a consumer
running in another process drives the fake just by what it asks for. The
switches every fake shares:
  [error:X]        answer the fake's error X ...
  [times:N]        ...only for the first N calls with this prompt, then succeed
  [retry_after:S]  send `Retry-After: S` with the error
  [slow:S]         sleep S seconds before answering
  [drop]           hang up without answering
  [garbage]        answer 200 with an HTML page
  [badimage]       succeed, but the image URL serves HTML, not an image
"""

from __future__ import annotations

import io
import json
import re
import socket
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
        self.server.record(method, url.path, dict(self.headers), body)
        if method == "GET" and url.path.startswith("/images/"):
            return self.serve_image(url.path, parse_qs(url.query))
        self.route(method, url.path, parse_qs(url.query), body)

    def route(self, method, path, query, body):
        self.send(404, {"message": "no such route"})

    def shared_switches(self, mark: dict) -> bool:
        """[slow], [drop] and [garbage]; True when the request is dealt with."""
        time.sleep(float(mark.get("slow") or 0))
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
        return b"<html>not an image</html>" if "badimage" in mark else png_bytes(width, height, key)

    def image_url(self, width: int, height: int, key: str, mark: dict) -> str:
        return self.server.add_image(f"{uuid.uuid4().hex}.png",
                                     self.image_data(width, height, key, mark))

    def serve_image(self, path, query):
        data = self.server.images.get(path)
        if data is None:
            return self.send(404, b"gone", content_type="text/plain")
        self.send(200, data, content_type="image/png")

    def send(self, status: int, payload, *, content_type="application/json", headers=None):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        head = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}",
                f"Content-Length: {len(data)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        # Headers and body in one write: no false loopback latency.
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[FakeHandler]):
        super().__init__(("127.0.0.1", 0), handler)
        self.requests: list[dict] = []
        self.images: dict[str, bytes] = {}
        self.counters: dict[str, int] = {}
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, method, path, headers, body):
        with self.lock:
            self.requests.append({"method": method, "path": path, "headers": headers, "body": body,
                                  "at": time.monotonic()})

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

    def add_image(self, name: str, data: bytes) -> str:
        path = f"/images/{name}"
        self.images[path] = data
        return self.url + path

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
