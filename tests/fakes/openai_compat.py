"""A fake OpenAI-compatible images server (seed 002), errors in OpenAI's shape.

Prompt markers (server.py has the shared ones):
  [error:NAME]   answer the error NAME of ERROR_BODIES with its HTTP status
  [noimage]      answer 200 with an empty `data`
"""

import base64
import uuid

from .server import FakeHandler, FakeServer, markers

PATH = "/v1/images/generations"
API_KEY = "sk-fake-openai-compat"
# name -> (HTTP status, type, code), as OpenAI sends them
ERROR_BODIES = {
    "invalid_request": (400, "invalid_request_error", None),
    "content_policy_violation": (400, "invalid_request_error", "content_policy_violation"),
    "invalid_api_key": (401, "invalid_request_error", "invalid_api_key"),
    "permission_error": (403, "permission_error", None),
    "rate_limit_exceeded": (429, "requests", "rate_limit_exceeded"),
    "insufficient_quota": (429, "insufficient_quota", "insufficient_quota"),
    "server_error": (500, "server_error", None),
    "service_unavailable": (503, "server_error", "service_unavailable"),
}
# prompt marker -> (the ProviderError code it must give, retryable)
ERRORS = {
    f"[error:{name}]": (code or kind, status in (429, 500, 503) and name != "insufficient_quota")
    for name, (status, kind, code) in ERROR_BODIES.items()
}
THROTTLE = "[error:rate_limit_exceeded]"


def image_key(prompt: str, width: int, height: int, seed) -> str:
    return f"{prompt}|{width}x{height}|{seed}"


class OpenAIHandler(FakeHandler):
    api_key = API_KEY
    error_bodies = ERROR_BODIES

    def route(self, method, path, query, body):
        if method != "POST" or path != PATH:
            return self.send(404, {"error": {"message": "no such path", "type": "not_found"}})
        if self.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self.error(ERROR_BODIES["invalid_api_key"], {})
        mark = markers(body["prompt"])
        if self.shared_switches(mark):
            return
        name = self.error_to_send(mark, body["prompt"])
        if name:
            return self.error(self.error_bodies[name], mark)
        self.success(body, mark)

    def error(self, entry: tuple, mark: dict):
        status, kind, code = entry
        self.send(
            status,
            {"error": {"message": f"fake {code or kind}", "type": kind, "param": None, "code": code}},
            headers=self.error_headers(mark),
        )

    def seed(self, body):
        return (body.get("parameters") or {}).get("seed")

    def size(self, body) -> tuple[int, int]:
        width, height = body.get("size", "1024x1536").split("x")
        return int(width), int(height)

    def success(self, body, mark):
        width, height = self.size(body)
        params = body.get("parameters") or {}
        key = image_key(body["prompt"], width, height, self.seed(body))
        if body.get("response_format") == "b64_json":
            item = {"b64_json": base64.b64encode(self.image_data(width, height, key, mark)).decode()}
        else:
            item = {"url": self.image_url(width, height, key, mark)}
        if params.get("prompt_extend"):
            item.update(
                revised_prompt="revised: " + body["prompt"],
                reasoning_content="thinking about " + body["prompt"],
            )
        self.send(
            200,
            {"created": 1717000000, "data": [] if "noimage" in mark else [item], **self.extra()},
            headers={"x-request-id": f"req_{uuid.uuid4().hex[:8]}"},
        )

    def extra(self) -> dict:
        return {}


def serve() -> FakeServer:
    return FakeServer(OpenAIHandler)
