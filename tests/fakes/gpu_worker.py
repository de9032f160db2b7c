"""A fake of the project's own GPU worker: OpenAI's images wire with `seed`,
always answering the image inline (b64_json), as generations/inference does.
Not in FAKES: the worker's own tests run the real server on the CPU; this one
stands in for it where a test needs a worker that can go down (routes)."""

from .openai_compat import OpenAIHandler
from .server import FakeServer

API_KEY = "gpu-fake-key"


class GpuWorkerHandler(OpenAIHandler):
    api_key = API_KEY

    def seed(self, body):
        return body.get("seed")


def serve(port: int = 0) -> FakeServer:
    return FakeServer(GpuWorkerHandler, port)
