"""A fake zimageturbo.ai task API (seed 004): submit, then poll.

Markers (server.py has the shared ones, which act on the submit):
  [error:401|402|429]   the submit answers that documented status
  [pending:S]           the task stays IN_PROGRESS for S seconds (default 0)
  [fail:REASON]         the task ends FAILED with error_message REASON
  [poll_error:STATUS]   the status call answers STATUS (with [times:N]: N times)
  [poll_garbage]        the status call answers an HTML page
The service picks the pixels for a ratio: SIZES, deliberately not our presets.
"""

import time
import uuid

from .server import FakeHandler, FakeServer, markers

API_KEY = "sk-fake-zimageturbo"
SIZES = {
    "1:1": (1024, 1024),
    "4:3": (1184, 888),
    "3:4": (888, 1184),
    "16:9": (1344, 756),
    "9:16": (756, 1344),
}
MESSAGES = {
    400: "bad request",
    401: "Invalid API Key",
    402: "Insufficient balance",
    404: "task not found",
    429: "Rate limit triggered",
    500: "internal error",
}
CONSUMED_CREDITS = 15
ERRORS = {
    "[error:401]": ("HTTP401", False),
    "[error:402]": ("HTTP402", False),
    "[error:429]": ("HTTP429", True),
    "[fail:moderation]": ("GenerationFailed", False),
    "[poll_error:401]": ("HTTP401", False),
}
THROTTLE = "[error:429]"


class ZImageTurboHandler(FakeHandler):
    def route(self, method, path, query, body):
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self.fail(401, {})
        if (method, path) == ("POST", "/api/generate"):
            return self.generate(body)
        if (method, path) == ("GET", "/api/status"):
            return self.status(query.get("task_id", [""])[0])
        self.fail(404, {})

    def fail(self, status: int, mark: dict):
        self.send(
            status,
            {"code": status, "message": MESSAGES.get(status, "error"), "data": None},
            headers=self.error_headers(mark),
        )

    def generate(self, body):
        mark = markers(body["prompt"])
        if self.shared_switches(mark):
            return
        status = self.error_to_send(mark, body["prompt"])
        if status:
            return self.fail(int(status), mark)
        if body.get("aspect_ratio") not in SIZES:
            return self.fail(400, mark)
        task_id = f"task_{uuid.uuid4().hex[:10]}"
        self.server.tasks[task_id] = {**body, "ready_at": time.monotonic() + float(mark.get("pending") or 0)}
        self.send(
            200, {"code": 200, "message": "success", "data": {"task_id": task_id, "status": "IN_PROGRESS"}}
        )

    def status(self, task_id):
        task = self.server.tasks.get(task_id)
        if task is None:
            return self.fail(404, {})
        mark = markers(task["prompt"])
        status = self.error_to_send(mark, task["prompt"], "poll_error")
        if status:
            return self.fail(int(status), mark)
        if "poll_garbage" in mark:
            return self.send(200, b"<html>maintenance</html>", content_type="text/html")
        data = {
            "task_id": task_id,
            "status": "IN_PROGRESS",
            "response": [],
            "error_message": None,
            "request": {"prompt": task["prompt"], "seed": "-1"},
            "created_at": "2025-12-05",
        }
        if "fail" in mark:
            data.update(status="FAILED", error_message=mark["fail"])
        elif time.monotonic() >= task["ready_at"]:
            width, height = SIZES[task["aspect_ratio"]]
            url = self.image_url(width, height, task["prompt"], mark)
            data.update(status="SUCCESS", response=[url], consumed_credits=CONSUMED_CREDITS)
            data["request"]["size"] = f"{width}*{height}"
        self.send(200, {"code": 200, "message": "success", "data": data})


def serve() -> FakeServer:
    server = FakeServer(ZImageTurboHandler)
    server.tasks = {}
    return server
