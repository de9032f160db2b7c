"""A fake AI/ML API (seed 003): OpenAI-shaped answers plus `meta.usage`.

The request body is checked as the service's schema does (400 for a side that
is not a multiple of 32 or outside 512..2048). AIML does not document its
errors; this fake answers them flat, `{"statusCode", "message", "requestId"}`,
as the service does. Markers: [error:NAME] of ERROR_BODIES, shared ones in
server.py.
"""

import uuid

from .openai_compat import OpenAIHandler
from .server import FakeServer

API_KEY = "sk-fake-aimlapi"
TOKENS_USED = 10500
ERROR_BODIES = {
    "bad_request": (400,),
    "unauthorized": (401,),
    "forbidden": (403,),
    "rate_limited": (429,),
    "server_error": (500,),
    "bad_gateway": (502,),
}
ERRORS = {f"[error:{name}]": (f"HTTP{status}", status >= 429) for name, (status,) in ERROR_BODIES.items()}
THROTTLE = "[error:rate_limited]"


class AimlHandler(OpenAIHandler):
    api_key = API_KEY
    error_bodies = ERROR_BODIES

    def route(self, method, path, query, body):
        size = (body or {}).get("image_size") or {}
        if any(
            not isinstance(side, int) or side % 32 or not 512 <= side <= 2048
            for side in (size.get("width"), size.get("height"))
        ):
            return self.send(
                400, {"statusCode": 400, "message": ["image_size: each side must be a multiple of 32"]}
            )
        super().route(method, path, query, body)

    def error(self, entry: tuple, mark: dict):
        status = entry[0]
        self.send(
            status,
            {"statusCode": status, "message": f"fake {status}", "requestId": uuid.uuid4().hex},
            headers=self.error_headers(mark),
        )

    def seed(self, body):
        return body.get("seed")

    def size(self, body) -> tuple[int, int]:
        return body["image_size"]["width"], body["image_size"]["height"]

    def extra(self) -> dict:
        return {"meta": {"usage": {"tokens_used": TOKENS_USED}}}


def serve() -> FakeServer:
    return FakeServer(AimlHandler)
