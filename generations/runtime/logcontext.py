"""Which request and which generation a log line belongs to, and the JSON
log format (LOG_FORMAT=json) that writes them on every line.

Two context variables carry the ids: `RequestIdMiddleware` sets the request
id for everything a request logs (the client's X-Request-ID when it sends a
sane one, else a new one, echoed in the response), and `generation_context`
sets the generation id around a generation's path (the web create, each
task, the provider call, the store). A context variable, not a thread-local:
it is per thread in the consumer's worker threads and per request in a web
worker, and a task that ends leaves nothing behind for the next one.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
generation_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("generation_id", default="")

# What a client's X-Request-ID may be to be taken as is: a log line must not
# carry a forged line break or an unbounded string.
_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


@contextmanager
def generation_context(generation_id):
    """Log lines inside carry `generation_id`."""
    token = generation_id_var.set(str(generation_id))
    try:
        yield
    finally:
        generation_id_var.reset(token)


def bind_generation(generation_id) -> None:
    """From here to the end of the current request or task, log lines carry
    `generation_id` (the web create: the id exists only once the row does)."""
    generation_id_var.set(str(generation_id))


class RequestIdMiddleware:
    """Gives each request an id for its log lines and its response header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sent = request.headers.get("X-Request-ID", "")
        request_id = sent if _SANE_ID.fullmatch(sent) else uuid.uuid4().hex
        # A copy of the context: whatever the request binds ends with it.
        response = contextvars.copy_context().run(self._respond, request, request_id)
        response["X-Request-ID"] = request_id
        return response

    def _respond(self, request, request_id: str):
        request_id_var.set(request_id)
        generation_id_var.set("")
        return self.get_response(request)


class ContextFilter(logging.Filter):
    """Puts the current request and generation ids on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.generation_id = generation_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the ids when set."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "generation_id"):
            value = getattr(record, key, "") or ""
            if value:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
