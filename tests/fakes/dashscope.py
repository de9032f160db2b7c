"""A fake DashScope speaking the documented wire format (seeds/README.md).

Prompt markers choose the behaviour (see server.py for the shared ones):
  [error:CODE]   answer CODE with its documented HTTP status
  [noimage]      answer 200 with no image in the content
"""

import time
import uuid

from .server import FakeHandler, FakeServer, markers

PATH = "/api/v1/services/aigc/multimodal-generation/generation"
STATUS = {
    "InvalidParameter": 400,
    "DataInspectionFailed": 400,
    "IPInfringementSuspect": 400,
    "Arrearage": 400,
    "InvalidApiKey": 401,
    "AccessDenied": 403,
    "AccessDenied.Unpurchased": 403,
    "RequestTimeOut": 408,
    "BadRequest.TooLarge": 413,
    "Throttling": 429,
    "Throttling.RateQuota": 429,
    "Throttling.BurstRate": 429,
    "Throttling.AllocationQuota": 429,
    "InternalError": 500,
    "InternalError.Algo": 500,
}
RETRYABLE = {
    "RequestTimeOut",
    "Throttling",
    "Throttling.RateQuota",
    "Throttling.BurstRate",
    "InternalError",
    "InternalError.Algo",
}
API_KEY = "sk-fake-dashscope"
# prompt marker -> (the ProviderError code it must give, retryable)
ERRORS = {f"[error:{code}]": (code, code in RETRYABLE) for code in STATUS}
THROTTLE = "[error:Throttling]"


def image_key(prompt: str, size: str, seed) -> str:
    return f"{prompt}|{size}|{seed}"


class DashScopeHandler(FakeHandler):
    def route(self, method, path, query, body):
        if method != "POST" or path != PATH:
            return self.send(404, {"code": "NotFound", "message": "no such path"})
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self.send(
                401, {"request_id": "r-key", "code": "InvalidApiKey", "message": "Invalid API-key provided."}
            )
        prompt = body["input"]["messages"][0]["content"][0]["text"]
        mark = markers(prompt)
        if self.shared_switches(mark, prompt):
            return
        code = self.error_to_send(mark, prompt)
        if code:
            return self.send(
                STATUS.get(code, 500),
                {"request_id": f"r-{uuid.uuid4().hex[:8]}", "code": code, "message": f"fake {code}"},
                headers=self.error_headers(mark),
            )
        self.success(prompt, body.get("parameters", {}), mark)

    def success(self, prompt, params, mark):
        width, height = (int(v) for v in params.get("size", "1024*1536").split("*"))
        key = image_key(prompt, params.get("size"), params.get("seed"))
        expires = int(time.time()) + 24 * 3600  # signed like OSS: valid for 24 hours
        url = self.image_url(width, height, key, mark) + f"?Expires={expires}"
        content = [{"text": "rewritten: " + prompt if params.get("prompt_extend") else prompt}]
        if "noimage" not in mark:
            content.insert(0, {"image": url})
        message = {"role": "assistant", "content": content}
        if params.get("prompt_extend"):
            message["reasoning_content"] = "thinking about " + prompt
        self.send(
            200,
            {
                "output": {"choices": [{"finish_reason": "stop", "message": message}]},
                "usage": {
                    "width": width,
                    "height": height,
                    "image_count": 1,
                    "input_tokens": 0,
                    "output_tokens": 0,
                },
                "request_id": f"r-{uuid.uuid4().hex[:8]}",
            },
        )


def serve() -> FakeServer:
    return FakeServer(DashScopeHandler)
