"""Own GPU workers (`manage.py gpu_worker`, generations/inference).

Wire: OpenAI's `POST /v1/images/generations` plus `seed` and
`num_inference_steps`; the image comes back inline as base64 PNG, so there is
no URL to expire. Errors are OpenAI's `{"error": {"message", "type", "code"}}`.

GPU_WORKER_URL holds one base URL or several, comma-separated. Calls go
round-robin; a worker that cannot be reached, or answers 503 (queue full), is
skipped for a while and the next one is tried.
"""

import itertools
import threading
import time

import httpx
from django.utils.translation import gettext_lazy as _

from generations.providers.base import (
    Capabilities,
    GenerationRequest,
    GenerationResult,
    Provider,
    ProviderError,
    bad_response,
    env,
    error_detail,
    http_error,
    image_of,
    json_body,
    status_error,
)

PATH = "/v1/images/generations"
SKIP_SECONDS = 15.0  # how long an unreachable worker is left alone

PRESETS = (
    (1024, 1024),
    (1280, 1280),
    (1536, 1536),
    (1024, 1536),
    (1536, 1024),
    (1104, 1472),
    (1472, 1104),
    (896, 1184),
    (1184, 896),
    (768, 1360),
    (1360, 768),
    (720, 1280),
    (1280, 720),
    (1152, 2048),
    (2048, 1152),
)

# Per process, not per provider object: the registry builds a new provider for
# every call, but a dead worker should stay skipped across calls.
_skip_until: dict[str, float] = {}
_turn = itertools.count()
_lock = threading.Lock()


class GpuWorkerProvider(Provider):
    name = "gpu_worker"
    label = _("Own GPU worker")
    variables = (("GPU_WORKER_URL", True), ("GPU_WORKER_API_KEY", False))
    docs_section = "your-own-gpu-workers"
    needs_key = False  # a worker on a private network may run without one
    capabilities = Capabilities(
        size_step=16,
        max_side=2048,
        prompt_extend=False,
        steps_range=(1, 50),
        size_tolerance=0,
        presets=PRESETS,
    )

    @property
    def urls(self) -> list[str]:
        raw = self.settings.base_url or env("GPU_WORKER_URL")
        return [url.strip().rstrip("/") for url in raw.split(",") if url.strip()]

    def unavailable_reason(self) -> str:
        return "" if self.urls else str(_("No worker: set GPU_WORKER_URL (several URLs: comma-separated)."))

    def payload(self, req: GenerationRequest) -> dict:
        body = {
            "model": self.settings.model_name or "z-image-turbo",
            "prompt": req.prompt,
            "n": 1,
            "size": f"{req.width}x{req.height}",
            "response_format": "b64_json",
        }
        if req.seed is not None:
            body["seed"] = req.seed
        if req.steps is not None:
            body["num_inference_steps"] = req.steps
        return body

    def generate(self, req: GenerationRequest) -> GenerationResult:
        busy = None
        with self.client() as client:
            for url in healthy_in_turn(self.urls):
                try:
                    response = client.post(url + PATH, json=self.payload(req))
                except (httpx.ConnectError, httpx.ConnectTimeout):
                    skip(url, SKIP_SECONDS)
                    continue
                except httpx.HTTPError as exc:  # it took the request, then failed: do not resend here
                    raise http_error(exc) from exc
                if response.status_code == 503:
                    busy = _error(response)
                    skip(url, busy.retry_after or SKIP_SECONDS)
                    continue
                if response.status_code != 200:
                    raise _error(response)
                return _result(response, req)
        raise busy or ProviderError(
            "WorkerUnavailable",
            "No GPU worker is reachable right now.",
            retryable=True,
            retry_after=seconds_until_back(self.urls),
        )


def healthy_in_turn(urls: list[str]) -> list[str]:
    """The workers not being skipped, starting one further along each call."""
    now = time.monotonic()
    with _lock:
        healthy = [url for url in urls if _skip_until.get(url, 0.0) <= now]
    if not healthy:
        return []
    start = next(_turn) % len(healthy)
    return healthy[start:] + healthy[:start]


def seconds_until_back(urls: list[str]) -> float:
    """When the first skipped worker will be tried again."""
    now = time.monotonic()
    with _lock:
        return max(1.0, min(_skip_until.get(url, now) - now for url in urls))


def skip(url: str, seconds: float) -> None:
    with _lock:
        _skip_until[url] = time.monotonic() + seconds


def _error(response: httpx.Response) -> ProviderError:
    """The worker writes its own plain messages (OpenAI's error shape): keep them as they are."""
    code, detail = error_detail(json_body(response))
    return status_error(response, code=code, message=detail)


def _result(response: httpx.Response, req: GenerationRequest) -> GenerationResult:
    data = json_body(response).get("data")
    item = data[0] if isinstance(data, list) and data else None
    _, image = image_of(item)
    if image is None:  # a URL instead of the inline PNG the worker always sends
        raise bad_response("The GPU worker's answer has no image in it.")
    return GenerationResult(
        image_bytes=image, width=req.width, height=req.height, seed=item.get("seed", req.seed)
    )
