"""The worker's request format: OpenAI's images request plus `seed` and
`num_inference_steps`, checked into jobs; errors in OpenAI's error shape.

No torch here, so the checks are testable (and importable) anywhere.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

SEED_MAX = 2**31 - 1
# Z-Image-Turbo is distilled for 8 transformer forwards. Found with diffusers
# 0.42.1: ZImagePipeline builds num_inference_steps sigmas (linspace(1, 1/n, n),
# the final 0 is appended by the scheduler), so 8 steps are exactly 8 forwards
# (tests/inference count them). Before diffusers 0.39 (PR #13730) the schedule
# ended on a redundant zero timestep and 9 steps were needed for 8 forwards;
# pyproject's gpu extra therefore asks for diffusers>=0.39.
TURBO_STEPS = 8


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        *,
        param: str | None = None,
        kind: str = "invalid_request_error",
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.kind, self.headers = kind, headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "code": self.code, "param": self.param}}


@dataclass(frozen=True)
class Limits:
    """What the loaded model accepts; see Worker.limits_for()."""

    size_step: int = 16
    min_side: int = 16
    max_side: int = 2048
    max_pixels: int = 2048 * 2048
    max_steps: int = 50
    max_n: int = 4
    max_prompt_chars: int = 4000


@dataclass(eq=False)  # compared by identity when taken off the queue
class Job:
    """One image. The batching thread fills `image` or `error`, then sets `done`."""

    prompt: str
    width: int
    height: int
    steps: int
    seed: int
    enqueued: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    image: Any = None
    error: str = ""

    @property
    def key(self) -> tuple[int, int, int]:
        """Jobs with the same key can share one pipeline call."""
        return self.width, self.height, self.steps


def invalid(message: str, param: str, code: str = "invalid_parameter") -> ApiError:
    return ApiError(400, message, code, param=param)


def parse_generation(body: Any, limits: Limits) -> list[Job]:
    """Jobs for one request; `n` images get seeds seed, seed+1, ..."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.", "body")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("`prompt` must be a non-empty string.", "prompt")
    if len(prompt) > limits.max_prompt_chars:
        raise invalid(f"`prompt` has {len(prompt)} characters; at most {limits.max_prompt_chars}.", "prompt")
    if body.get("response_format", "b64_json") != "b64_json":
        raise invalid(
            "Only response_format `b64_json` is supported: the worker keeps no files.", "response_format"
        )
    width, height = parse_size(body.get("size", "1024x1024"), limits)
    n = integer(body, "n", 1, 1, limits.max_n)
    steps = integer(body, "num_inference_steps", TURBO_STEPS, 1, limits.max_steps)
    seed = integer(body, "seed", None, 0, SEED_MAX)
    if seed is None:
        seed = random.randint(0, SEED_MAX)
    return [Job(prompt, width, height, steps, (seed + i) % (SEED_MAX + 1)) for i in range(n)]


def integer(body: dict, name: str, default: int | None, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"`{name}` must be an integer between {low} and {high}.", name)
    return value


def parse_size(size: Any, limits: Limits) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in str(size).lower().split("x"))
    except ValueError:
        raise invalid(f"`size` must look like 1024x1024, not {size!r}.", "size", "invalid_size") from None
    for side in (width, height):
        if side % limits.size_step:
            raise invalid(
                f"Width and height must be multiples of {limits.size_step}; {side} is not.",
                "size",
                "invalid_size",
            )
        if not limits.min_side <= side <= limits.max_side:
            raise invalid(
                f"Each side must be between {limits.min_side} and {limits.max_side} pixels.",
                "size",
                "invalid_size",
            )
    if width * height > limits.max_pixels:
        raise invalid(
            f"{width}x{height} is above this model's {limits.max_pixels} pixel limit.", "size", "invalid_size"
        )
    return width, height
