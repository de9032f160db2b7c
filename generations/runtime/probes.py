"""`/healthz`, `/readyz` and `/metrics`, answered by the first middleware,
before anything else of the site runs: no host check (a load balancer asks
by address), no HTTPS redirect, no session, no sign-in, no rate limit.

- `/healthz`: the process answers; no I/O at all. 200 "ok".
- `/readyz`: the database, the queue broker (Huey's storage: Redis, or its
  SQLite file) and image storage each answer; 503 naming each failing part
  (by the exception's class only: an error text may carry an address).
- `/metrics`: generations/runtime/metrics_export.py, for an allowed scraper;
  404 while metrics are off, 403 for anyone else.
"""

from __future__ import annotations

import logging

from django.http import HttpResponse

log = logging.getLogger(__name__)


def _check_database() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_queue() -> None:
    from huey.contrib.djhuey import HUEY

    HUEY.storage.queue_size()  # a real read of Redis or the SQLite file


def _check_storage() -> None:
    from django.core.files.storage import default_storage

    default_storage.exists("readyz")  # a HEAD on a bucket; a stat on a disk


CHECKS = {"database": _check_database, "queue": _check_queue, "storage": _check_storage}


def readiness() -> dict[str, str]:
    """Each part's state: "ok", or the class of the error it raised."""
    states = {}
    for name, check in CHECKS.items():
        try:
            check()
            states[name] = "ok"
        except Exception as exc:  # any failure means not ready; which one goes in the log
            log.warning("readyz: %s failed: %s: %s", name, exc.__class__.__name__, exc)
            states[name] = f"failed ({exc.__class__.__name__})"
    return states


def _readyz(request) -> HttpResponse:
    states = readiness()
    failing = [name for name, state in states.items() if state != "ok"]
    body = "".join(f"{name}: {state}\n" for name, state in states.items())
    if failing:
        return HttpResponse(f"not ready: {', '.join(failing)}\n{body}", status=503, content_type="text/plain")
    return HttpResponse(f"ready\n{body}", content_type="text/plain")


def _metrics(request) -> HttpResponse:
    from generations.runtime import metrics, metrics_export

    if not metrics.enabled():
        return HttpResponse("Not Found\n", status=404, content_type="text/plain")
    allowed = metrics_export.scrape_allowed(
        authorization=request.headers.get("Authorization", ""), address=request.META.get("REMOTE_ADDR", "")
    )
    if not allowed:
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    body, content_type = metrics_export.metrics_text()
    return HttpResponse(body, content_type=content_type)


ROUTES = {
    "/healthz": lambda request: HttpResponse("ok\n", content_type="text/plain"),
    "/readyz": _readyz,
    "/metrics": _metrics,
}


class ProbesMiddleware:
    """Answers the probe paths itself; passes every other request on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        answer = ROUTES.get(request.path_info.rstrip("/") or "/")
        if answer is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        response = answer(request)
        response["Cache-Control"] = "no-store"
        return response
