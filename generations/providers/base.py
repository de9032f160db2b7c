"""The one provider protocol: request/result dataclasses, capabilities, errors.

A provider module subclasses `Provider`, declares its `Capabilities` and
implements `generate()` (sync) or `submit()` + `poll()` (submit and poll).
"""

from __future__ import annotations

import base64
import binascii
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import ClassVar

import httpx
from django.utils.translation import gettext as _

from generations.images.fetch import kept_client, tls_context


class ProviderError(Exception):
    """`retryable` errors are tried again with backoff; the others end the
    generation failed with `code` and `message` shown to the user."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        request_id: str = "",
    ):
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

    @property
    def ratio_only(self) -> bool:
        """Fixed-ratio providers pick the pixels themselves: an image only has to
        have the asked ratio, and its real size is what gets recorded."""
        return bool(self.aspect_ratios)

    def validate(self, req: GenerationRequest) -> None:
        """Raise InvalidRequest naming the limit a request breaks."""
        if not req.prompt.strip():
            raise InvalidRequest("prompt", _("The prompt is empty."))
        if len(req.prompt) > self.max_prompt_chars:
            raise InvalidRequest(
                "prompt",
                _("The prompt has %(count)d characters; this provider takes at most %(max)d.")
                % {"count": len(req.prompt), "max": self.max_prompt_chars},
            )
        self._validate_size(req.width, req.height)
        if req.seed is not None:
            if self.seed_range is None:
                raise InvalidRequest("seed", _("This provider does not accept a seed."))
            low, high = self.seed_range
            if not low <= req.seed <= high:
                raise InvalidRequest(
                    "seed", _("The seed must be between %(low)d and %(high)d.") % {"low": low, "high": high}
                )
        if req.prompt_extend and not self.prompt_extend:
            raise InvalidRequest("prompt_extend", _("This provider cannot rewrite prompts."))
        if req.steps is not None:
            if self.steps_range is None:
                raise InvalidRequest("steps", _("This provider does not accept a step count."))
            low, high = self.steps_range
            if not low <= req.steps <= high:
                raise InvalidRequest(
                    "steps", _("Steps must be between %(low)d and %(high)d.") % {"low": low, "high": high}
                )

    def _validate_size(self, width: int, height: int) -> None:
        pixels = width * height
        size = {"size": f"{width} x {height} = {pixels / 1e6:.2f} MP"}
        if pixels > self.max_pixels:
            raise InvalidRequest(
                "size",
                _("%(size)s is above this provider's %(limit)s MP limit.")
                % {**size, "limit": f"{self.max_pixels / 1e6:.2f}"},
            )
        if pixels < self.min_pixels:
            raise InvalidRequest(
                "size",
                _("%(size)s is below this provider's %(limit)s MP minimum.")
                % {**size, "limit": f"{self.min_pixels / 1e6:.2f}"},
            )
        for side in (width, height):
            if not self.min_side <= side <= self.max_side:
                raise InvalidRequest(
                    "size",
                    _("Each side must be between %(low)d and %(high)d pixels.")
                    % {"low": self.min_side, "high": self.max_side},
                )
            if side % self.size_step:
                raise InvalidRequest(
                    "size",
                    _("Width and height must be multiples of %(step)d; %(side)d is not.")
                    % {"step": self.size_step, "side": side},
                )
        if self.aspect_ratios and aspect_ratio(width, height) not in self.aspect_ratios:
            raise InvalidRequest(
                "size",
                _("%(size)s is not one of this provider's aspect ratios (%(ratios)s).")
                % {"size": f"{width}x{height}", "ratios": ", ".join(self.aspect_ratios)},
            )

    def size_for(self, ratio: str) -> tuple[int, int]:
        """The preset for an aspect ratio the user asked for (instead of pixels):
        within 1% of it (providers label 1704x960 as 16:9), nearest to 1 MP."""
        wanted = parse_ratio(ratio)
        if self.aspect_ratios and aspect_ratio(*wanted) not in self.aspect_ratios:
            raise InvalidRequest(
                "aspect_ratio",
                _("This provider only takes the aspect ratios %(ratios)s.")
                % {"ratios": ", ".join(self.aspect_ratios)},
            )
        close = [
            (w, h) for w, h in self.presets if abs(w * wanted[1] - h * wanted[0]) <= 0.01 * h * wanted[0]
        ]
        if not close:
            offered = sorted({aspect_ratio(w, h) for w, h in self.presets})
            raise InvalidRequest(
                "aspect_ratio",
                _("This provider has no %(ratio)s size; its sizes have the ratios %(ratios)s.")
                % {"ratio": ratio, "ratios": ", ".join(offered)},
            )
        return min(close, key=lambda size: abs(size[0] * size[1] - 1024 * 1024))


def aspect_ratio(width: int, height: int) -> str:
    d = math.gcd(width, height)
    return f"{width // d}:{height // d}"


def parse_ratio(ratio: str) -> tuple[int, int]:
    """ "16:9" -> (16, 9), or InvalidRequest."""
    try:
        width, height = (int(part) for part in ratio.strip().split(":"))
    except (AttributeError, ValueError):
        width = height = 0
    if width <= 0 or height <= 0:
        raise InvalidRequest(
            "aspect_ratio", _("An aspect ratio looks like 16:9, not %(ratio)s.") % {"ratio": repr(ratio)}
        )
    return width, height


# The sizes seed 002 recommends (OpenAI-compatible proxy of DashScope).
RECOMMENDED_SIZES = (
    (1024, 1024),
    (1280, 1280),
    (1536, 1536),
    (1024, 1536),
    (1104, 1472),
    (896, 1184),
    (768, 1360),
    (960, 1704),
    (1152, 2048),
    (1328, 1760),
    (1704, 960),
    (1760, 1328),
    (2048, 1152),
    (1360, 768),
    (1184, 896),
    (1472, 1104),
)


@dataclass(frozen=True)
class ProviderSettings:
    """Where and how to reach one provider: from the environment, or from an
    admin's ProviderConfig that names the variable holding the key."""

    base_url: str = ""
    api_key: str = ""
    api_key_env: str = ""
    # Where the key came from, for the admin (never the key): "environment
    # (NAME)", the credentials file, or "" when there is none.
    api_key_source: str = ""
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
    # The environment variables an admin sets for it, (name, required), as
    # .env.example lists them (the staff setup checklist shows which are set),
    # and its section of docs/admin.md (a heading anchor).
    variables: ClassVar[tuple[tuple[str, bool], ...]] = ()
    docs_section: ClassVar[str] = "setting-up-a-real-provider"

    def __init__(self, settings: ProviderSettings):
        self.settings = settings

    @property
    def base_url(self) -> str:
        return (self.settings.base_url or self.default_base_url).rstrip("/")

    def unavailable_reason(self) -> str:
        """Empty when usable; otherwise why not, in words an admin can act on."""
        if self.needs_key and not self.settings.api_key:
            env = self.settings.api_key_env or f"{self.name.upper()}_API_KEY"
            return _("No API key: set %(env)s in the environment.") % {"env": env}
        if not self.base_url:
            return _("No base URL: set %(env)s.") % {"env": f"{self.name.upper()}_BASE_URL"}
        return ""

    def generate(self, req: GenerationRequest) -> GenerationResult:
        """Sync providers (`capabilities.mode == "sync"`): one call, one image."""
        raise NotImplementedError

    def submit(self, req: GenerationRequest) -> str:
        """Submit+poll providers (`mode == "poll"`): start a job, return its id."""
        raise NotImplementedError

    def poll(self, task_id: str) -> GenerationResult | None:
        """Ask once how a submitted job is doing: None while it is still running;
        ProviderError when it failed."""
        raise NotImplementedError

    def client(self) -> httpx.Client:
        """A new client, which the caller closes."""
        headers = {"User-Agent": "z-image-studio/0.1"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        return httpx.Client(timeout=self.settings.timeout, headers=headers, verify=tls_context())

    def call(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One HTTP call to `base_url + path`, on this thread's kept client for
        these credentials and timeout (a key rotated in the admin gets a new
        one); transport failures become retryable ProviderErrors."""
        key = ("provider", self.settings.api_key, self.settings.timeout)
        try:
            return kept_client(key, self.client).request(method, self.base_url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise http_error(exc) from exc

    def url_expiry(self) -> datetime:
        return datetime.now(UTC) + self.capabilities.url_lifetime


def env(name: str) -> str:
    return os.environ.get(name, "").strip()


def http_error(exc: httpx.HTTPError) -> ProviderError:
    """Transport failures are always worth another try."""
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError("Timeout", "The provider did not answer in time.", retryable=True)
    return ProviderError(
        "ConnectionError", f"Could not reach the provider ({type(exc).__name__}).", retryable=True
    )


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After in seconds: a number, or an HTTP date (RFC 9110 allows both)."""
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds()) if when.tzinfo else None


def bad_response(message: str) -> ProviderError:
    """An answer we cannot use (HTML page, missing fields): asking again would
    not help, so it is permanent."""
    return ProviderError("BadResponse", message)


def json_body(response: httpx.Response) -> dict:
    """The JSON object of a response. A non-JSON 429/5xx (a proxy's HTML error
    page) gives {} so the status decides; any other non-JSON body is BadResponse."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if response.status_code >= 500 or response.status_code == 429:
            return {}
        raise bad_response(f"The provider answered HTTP {response.status_code} with a body that is not JSON.")
    return body


STATUS_MESSAGES = {
    400: "The provider rejected the request (size, seed or prompt).",
    401: "The provider rejected the API key; an admin must fix it.",
    402: "The provider account has no balance left; an admin must top it up.",
    403: "The provider account may not use this model.",
    404: "The provider has no such endpoint or model; an admin must check its base URL.",
    408: "The provider timed out.",
    413: "The request was too large for the provider.",
    429: "The provider is rate limiting requests.",
}


def status_error(
    response: httpx.Response,
    *,
    status: int | None = None,
    code: str = "",
    detail: str = "",
    message: str = "",
    retryable: bool | None = None,
    request_id: str = "",
) -> ProviderError:
    """A ProviderError for an error answer: `code` defaults to HTTP<status>,
    `message` to a plain-language line for the status with the provider's
    own words (`detail`) after it; 408, 429 and 5xx are retryable by default."""
    status = status or response.status_code
    if retryable is None:
        retryable = status in (408, 429) or status >= 500
    if not message:
        message = STATUS_MESSAGES.get(status) or (
            "The provider had an internal error."
            if status >= 500
            else f"The provider answered HTTP {status}."
        )
    if detail:
        message = f"{message} ({detail})"
    return ProviderError(
        code or f"HTTP{status}",
        message,
        retryable=retryable,
        retry_after=retry_after_seconds(response),
        request_id=request_id,
    )


def error_detail(body: dict) -> tuple[str, str]:
    """(code, message) from OpenAI's `{"error": {"code", "type", "message"}}` or a
    flat `{"code", "message"}`; numeric codes are left to the HTTP status."""
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("code") or error.get("type") or ""), str(error.get("message") or "")
    code = body.get("code")
    message = body.get("message") or (error if isinstance(error, str) else "")
    if isinstance(message, list):
        message = "; ".join(map(str, message))
    return (code if isinstance(code, str) else ""), str(message or "")


def image_of(item) -> tuple[str, bytes | None]:
    """(url, bytes) of an OpenAI-style `{"url"}` or `{"b64_json"}` item."""
    if isinstance(item, dict) and isinstance(item.get("b64_json"), str):
        try:
            return "", base64.b64decode(item["b64_json"], validate=True)
        except (binascii.Error, ValueError):
            raise bad_response("The provider's base64 image does not decode.") from None
    if isinstance(item, dict) and isinstance(item.get("url"), str) and item["url"]:
        return item["url"], None
    raise bad_response("The provider's answer has no image in it.")
