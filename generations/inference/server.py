"""The worker's HTTP side, on the standard library's ThreadingHTTPServer: one
thread per connection parses, queues and waits; the engine's single thread
runs the pipeline; PNG encoding happens back on the connection's thread so the
GPU thread only generates.

POST /v1/images/generations  OpenAI images request (+ seed, num_inference_steps)
GET  /health                 model loaded, device, queue depth
GET  /metrics                Prometheus text
"""

from __future__ import annotations

import base64
import hmac
import io
import json
import logging
import math
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from generations.inference.engine import Engine
from generations.inference.loader import LoadOptions, load_pipeline
from generations.inference.metrics import Metrics
from generations.inference.schema import TURBO_STEPS, ApiError, Job, Limits, parse_generation

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
JOB_TIMEOUT = 600  # seconds a request waits for its image before giving up with 504


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8100
    max_batch: int = 4
    max_wait_ms: float = 10.0
    queue_limit: int = 32
    api_key: str = ""


@dataclass
class Worker:
    engine: Engine
    metrics: Metrics
    limits: Limits
    load: LoadOptions
    api_key: str = ""

    def health(self) -> dict:
        return {
            "status": "ok",
            "model_loaded": True,
            "model": self.load.model_dir,
            "device": self.load.device,
            "dtype": self.load.dtype,
            "queue_depth": self.engine.queue_depth(),
            "max_batch": self.engine.max_batch,
            "limits": self.limits.__dict__,
        }


def limits_for(pipe) -> Limits:
    """Sides are multiples of 16 (and of the VAE's latent patch); the longest
    side is what the transformer's position table covers, capped at 2048."""
    patch = pipe.transformer.config.all_patch_size[0]
    step = math.lcm(16, pipe.vae_scale_factor * 2)
    model_side = pipe.transformer.config.axes_lens[1] * patch * pipe.vae_scale_factor
    return Limits(size_step=step, min_side=step, max_side=min(2048, model_side))


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.0 (the default): one request per connection, so a body left
    # unread after an early error can never be taken for the next request.
    server_version = "zimage-gpu-worker/0.1"

    @property
    def worker(self) -> Worker:
        return self.server.worker

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/health":
            self._send_json(200, self.worker.health())
        elif path == "/metrics":
            text = self.worker.metrics.render(self.worker.engine.queue_depth())
            self._send(200, text.encode(), "text/plain; version=0.0.4; charset=utf-8")
        else:
            self._send_error(ApiError(404, f"No route {path}.", "not_found"))

    def do_POST(self):
        if self.path.split("?")[0] != "/v1/images/generations":
            self._send_error(ApiError(404, f"No route {self.path}.", "not_found"))
            return
        try:
            self._authorize()
            jobs = parse_generation(self._read_json(), self.worker.limits)
            self.worker.engine.submit(jobs)
            data = [self._finish(job) for job in jobs]
        except ApiError as exc:
            self.worker.metrics.request(exc.status)
            self._send_error(exc)
            return
        self.worker.metrics.request(200)
        self._send_json(200, {"created": int(time.time()), "data": data})

    def _authorize(self) -> None:
        key = self.worker.api_key
        given = self.headers.get("Authorization", "")
        if key and not hmac.compare_digest(given.encode(), f"Bearer {key}".encode()):
            raise ApiError(401, "Missing or wrong API key (Authorization: Bearer ...).", "invalid_api_key")

    def _read_json(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ApiError(400, "Content-Length is not a number.", "invalid_request") from None
        if length > MAX_BODY:
            raise ApiError(413, f"The request body is over {MAX_BODY} bytes.", "body_too_large")
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except (ValueError, RecursionError):  # RecursionError: nested too deep
            raise ApiError(400, "The request body is not valid JSON.", "invalid_json") from None

    def _finish(self, job: Job) -> dict:
        if not job.done.wait(JOB_TIMEOUT):
            raise ApiError(504, "The image was not ready in time.", "timeout", kind="server_error")
        if job.error:
            raise ApiError(500, job.error, "generation_failed", kind="server_error")
        buffer = io.BytesIO()
        job.image.save(buffer, format="PNG")
        return {"b64_json": base64.b64encode(buffer.getvalue()).decode(), "seed": job.seed}

    def _send_error(self, exc: ApiError) -> None:
        self._send_json(exc.status, exc.body(), exc.headers)

    def _send_json(self, status: int, body: dict, headers: dict | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(self, status: int, payload: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        log.info("%s %s", self.address_string(), format % args)


class WorkerHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # A burst of clients must wait in the kernel's backlog, not be refused:
    # the site's client takes a refused connection for a dead worker.
    request_queue_size = 128


def serve(load: LoadOptions, options: ServeOptions, announce=print) -> None:
    """Load the model, then serve until interrupted."""
    pipe = load_pipeline(load)
    metrics = Metrics()
    engine = Engine(
        pipe,
        load.device,
        metrics,
        max_batch=options.max_batch,
        max_wait=options.max_wait_ms / 1000,
        queue_limit=options.queue_limit,
    )
    limits = limits_for(pipe)
    if load.compile:
        # Compile now, at the usual size, rather than on the first user's request.
        side = min(1024, limits.max_side)
        engine.generate([Job("warm-up", side, side, TURBO_STEPS, 0)])
    engine.start()
    server = WorkerHTTPServer((options.host, options.port), Handler)
    server.worker = Worker(engine, metrics, limits, load, options.api_key)
    announce(
        f"Z-Image worker on http://{options.host}:{server.server_port} "
        f"({load.device}, {load.dtype}, max batch {options.max_batch})"
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
