"""A fake DashScope speaking the documented wire format (seeds/README.md).

Prompt markers choose the behaviour:
  [error:CODE]   answer CODE with its documented HTTP status
  [times:N]      error/slow only for the first N calls with this prompt
  [slow:S]       sleep S seconds before answering
  [image:KIND]   the image URL answers 404, html, huge (60 MB) or wrongsize
  [imageslow:S]  the image URL takes S seconds to answer
  [garbage]      answer 200 with an HTML page
  [noimage]      answer 200 with no image in the content
"""

import time
import uuid

from .server import FakeHandler, FakeServer, markers, png_bytes

PATH = "/api/v1/services/aigc/multimodal-generation/generation"
STATUS = {
    "InvalidParameter": 400, "DataInspectionFailed": 400, "IPInfringementSuspect": 400,
    "Arrearage": 400, "InvalidApiKey": 401, "AccessDenied": 403, "AccessDenied.Unpurchased": 403,
    "RequestTimeOut": 408, "BadRequest.TooLarge": 413, "Throttling": 429,
    "Throttling.RateQuota": 429, "Throttling.BurstRate": 429, "Throttling.AllocationQuota": 429,
    "InternalError": 500, "InternalError.Algo": 500,
}
API_KEY = "sk-fake-dashscope"


def image_key(prompt: str, size: str, seed) -> str:
    return f"{prompt}|{size}|{seed}"


class DashScopeHandler(FakeHandler):
    def route(self, method, path, query, body):
        if method != "POST" or path != PATH:
            return self.send(404, {"code": "NotFound", "message": "no such path"})
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self.send(401, {"request_id": "r-key", "code": "InvalidApiKey",
                                   "message": "Invalid API-key provided."})
        prompt = body["input"]["messages"][0]["content"][0]["text"]
        params = body.get("parameters", {})
        mark = markers(prompt)
        limited = self.server.count(prompt) <= int(mark.get("times") or 10**9)
        if limited:
            time.sleep(float(mark.get("slow") or 0))
        if "error" in mark and limited:
            code = mark["error"]
            return self.send(STATUS.get(code, 500), {
                "request_id": f"r-{uuid.uuid4().hex[:8]}", "code": code,
                "message": f"fake {code}"})
        if "garbage" in mark:
            return self.send(200, b"<html>oops</html>", content_type="text/html")
        self.success(prompt, params, mark)

    def success(self, prompt, params, mark):
        width, height = (int(v) for v in params.get("size", "1024*1536").split("*"))
        key = image_key(prompt, params.get("size"), params.get("seed"))
        expires = int(time.time()) + 24 * 3600  # signed like OSS: valid for 24 hours
        url = self.image_url(mark, width, height, key) + f"?Expires={expires}"
        content = [{"text": "rewritten: " + prompt if params.get("prompt_extend") else prompt}]
        if "noimage" not in mark:
            content.insert(0, {"image": url})
        message = {"role": "assistant", "content": content}
        if params.get("prompt_extend"):
            message["reasoning_content"] = "thinking about " + prompt
        self.send(200, {
            "output": {"choices": [{"finish_reason": "stop", "message": message}]},
            "usage": {"width": width, "height": height, "image_count": 1,
                      "input_tokens": 0, "output_tokens": 0},
            "request_id": f"r-{uuid.uuid4().hex[:8]}",
        })


    def image_url(self, mark, width, height, key) -> str:
        name, kind = f"{uuid.uuid4().hex}.png", mark.get("image")
        if kind == "404":
            return f"{self.server.url}/images/{name}"
        data, content_type = png_bytes(width, height, key), "image/png"
        if kind == "html":
            data, content_type = b"<html><body>Access denied</body></html>", "text/html"
        elif kind == "huge":
            data = data + b"\0" * (60 * 1024 * 1024)
        elif kind == "wrongsize":
            data = png_bytes(width // 2, height // 2, key)
        delay = float(mark.get("imageslow") or 0)
        return self.server.add_image(name, data, content_type=content_type, delay=delay)


def serve() -> FakeServer:
    return FakeServer(DashScopeHandler)
