"""The one provider protocol: request/result dataclasses, capabilities, errors.

A provider module subclasses `Provider`, declares its `Capabilities` and
implements `generate()` (sync) or `submit()` + `poll()` (submit and poll).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

import httpx


class ProviderError(Exception):
    """`retryable` errors are tried again with backoff; the others end the
    generation failed with `code` and `message` shown to the user."""

    def __init__(self, code: str, message: str, *, retryable: bool = False,
                 retry_after: float | None = None, request_id: str = ""):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.retryable = code, message, retryable
        self.retry_after, self.request_id = retry_after, request_id


class InvalidRequest(ValueError):
    """A request this provider cannot take; `field` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    width: int
    height: int
    seed: int | None = None
    prompt_extend: bool = False
    steps: int | None = None
    output_format: str = "png"


@dataclass
class GenerationResult:
    image_url: str = ""
    image_bytes: bytes | None = None
    url_expires_at: datetime | None = None
    width: int | None = None
    height: int | None = None
    seed: int | None = None
    rewritten_prompt: str = ""
    reasoning: str = ""
    request_id: str = ""
    cost: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Capabilities:
    min_pixels: int = 512 * 512
    max_pixels: int = 2048 * 2048
    min_side: int = 1
    max_side: int = 8192
    size_step: int = 1
    aspect_ratios: tuple[str, ...] = ()  # non-empty: only these ratios
    max_prompt_chars: int = 800
    seed_range: tuple[int, int] | None = (0, 2**31 - 1)  # None: no seed control
    prompt_extend: bool = True
    steps_range: tuple[int, int] | None = None
    mode: str = "sync"  # or "poll"
    url_lifetime: timedelta = timedelta(hours=1)
    size_tolerance: int = 0  # pixels an image may differ from the asked size
    presets: tuple[tuple[int, int], ...] = ()

    def validate(self, req: GenerationRequest) -> None:
        """Raise InvalidRequest naming the limit a request breaks."""
        if not req.prompt.strip():
            raise InvalidRequest("prompt", "The prompt is empty.")
        if len(req.prompt) > self.max_prompt_chars:
            raise InvalidRequest("prompt", f"The prompt has {len(req.prompt)} characters; this "
                                 f"provider takes at most {self.max_prompt_chars}.")
        self._validate_size(req.width, req.height)
        if req.seed is not None:
            if self.seed_range is None:
                raise InvalidRequest("seed", "This provider does not accept a seed.")
            low, high = self.seed_range
            if not low <= req.seed <= high:
                raise InvalidRequest("seed", f"The seed must be between {low} and {high}.")
        if req.prompt_extend and not self.prompt_extend:
            raise InvalidRequest("prompt_extend", "This provider cannot rewrite prompts.")
        if req.steps is not None:
            if self.steps_range is None:
                raise InvalidRequest("steps", "This provider does not accept a step count.")
            if not self.steps_range[0] <= req.steps <= self.steps_range[1]:
                raise InvalidRequest("steps", "Steps must be between {} and {}.".format(
                    *self.steps_range))

    def _validate_size(self, width: int, height: int) -> None:
        pixels = width * height
        label = f"{width} x {height} = {pixels / 1e6:.2f} MP"
        if pixels > self.max_pixels:
            raise InvalidRequest("size", f"{label} is above this provider's "
                                 f"{self.max_pixels / 1e6:.2f} MP limit.")
        if pixels < self.min_pixels:
            raise InvalidRequest("size", f"{label} is below this provider's "
                                 f"{self.min_pixels / 1e6:.2f} MP minimum.")
        for side in (width, height):
            if not self.min_side <= side <= self.max_side:
                raise InvalidRequest("size", f"Each side must be between {self.min_side} and "
                                     f"{self.max_side} pixels.")
            if side % self.size_step:
                raise InvalidRequest("size", f"Width and height must be multiples of "
                                     f"{self.size_step}; {side} is not.")
        if self.aspect_ratios and aspect_ratio(width, height) not in self.aspect_ratios:
            raise InvalidRequest("size", f"{width}x{height} is not one of this provider's aspect "
                                 f"ratios ({', '.join(self.aspect_ratios)}).")


def aspect_ratio(width: int, height: int) -> str:
    d = math.gcd(width, height)
    return f"{width // d}:{height // d}"


@dataclass(frozen=True)
class ProviderSettings:
    """Where and how to reach one provider: from the environment, or from an
    admin's ProviderConfig that names the variable holding the key."""

    base_url: str = ""
    api_key: str = ""
    api_key_env: str = ""
    region: str = ""
    model_name: str = ""
    timeout: float = 120.0
    internal: bool = False


class Provider:
    name: ClassVar[str]
    label: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    needs_key: ClassVar[bool] = True
    default_base_url: ClassVar[str] = ""

    def __init__(self, settings: ProviderSettings):
        self.settings = settings

    @property
    def base_url(self) -> str:
        return (self.settings.base_url or self.default_base_url).rstrip("/")

    def unavailable_reason(self) -> str:
        """Empty when usable; otherwise why not, in words an admin can act on."""
        if self.needs_key and not self.settings.api_key:
            env = self.settings.api_key_env or f"{self.name.upper()}_API_KEY"
            return f"No API key: set {env} in the environment."
        if not self.base_url:
            return f"No base URL: set {self.name.upper()}_BASE_URL."
        return ""

    def generate(self, req: GenerationRequest) -> GenerationResult:
        raise NotImplementedError

    def client(self) -> httpx.Client:
        headers = {"User-Agent": "z-image-studio/0.1"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        return httpx.Client(timeout=self.settings.timeout, headers=headers)


def env(name: str) -> str:
    return os.environ.get(name, "").strip()


def http_error(exc: httpx.HTTPError) -> ProviderError:
    """Transport failures are always worth another try."""
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError("Timeout", "The provider did not answer in time.", retryable=True)
    return ProviderError("ConnectionError", f"Could not reach the provider ({type(exc).__name__}).",
                         retryable=True)


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
