"""Any server speaking the OpenAI Images API for Z-Image (seed 002).

Wire: `POST {base}/v1/images/generations` with `size` as `WxH`, `n` 1,
`response_format` url or b64_json (OPENAI_COMPAT_RESPONSE_FORMAT, default url)
and Z-Image's extras under `parameters` (`prompt_extend`, `seed`). Errors are
OpenAI's `{"error": {"message", "type", "code"}}` with an HTTP status.
"""

from datetime import timedelta

import httpx
from django.utils.translation import gettext_lazy as _

from generations.providers.base import (
    RECOMMENDED_SIZES,
    Capabilities,
    GenerationRequest,
    GenerationResult,
    InvalidRequest,
    Provider,
    ProviderError,
    bad_response,
    env,
    error_detail,
    image_of,
    json_body,
    status_error,
)

PATH = "/v1/images/generations"
RESPONSE_FORMATS = ("url", "b64_json")

# OpenAI's codes that need words of their own. A 429 is a rate limit (retry)
# unless the account is out of quota, which waiting does not fix.
MESSAGES = {
    "insufficient_quota": "The provider account's quota is used up; an admin must top it up.",
    "billing_hard_limit_reached": "The provider account hit its billing limit; an admin must raise it.",
    "content_policy_violation": "The prompt or the image failed the provider's content moderation.",
    "moderation_blocked": "The prompt or the image failed the provider's content moderation.",
    "invalid_api_key": "The provider rejected the API key; an admin must fix it.",
}
PERMANENT = {
    "insufficient_quota",
    "billing_hard_limit_reached",
    "content_policy_violation",
    "moderation_blocked",
    "invalid_api_key",
}


class OpenAICompatProvider(Provider):
    name = "openai_compat"
    label = _("OpenAI-compatible images API")
    variables = (
        ("OPENAI_COMPAT_BASE_URL", True),
        ("OPENAI_COMPAT_API_KEY", True),
        ("OPENAI_COMPAT_MODEL", False),
        ("OPENAI_COMPAT_RESPONSE_FORMAT", False),
    )
    docs_section = "an-openai-compatible-proxy"
    default_model = "z-image-turbo"
    # The proxies forward to DashScope, which keeps 800 characters of a prompt;
    # OpenAI documents its image URLs as valid for 60 minutes.
    capabilities = Capabilities(
        max_prompt_chars=800, url_lifetime=timedelta(hours=1), presets=RECOMMENDED_SIZES
    )

    @property
    def base_url(self) -> str:
        # OpenAI SDK users write the base with /v1; the path adds it again.
        return super().base_url.removesuffix("/v1")

    @property
    def response_format(self) -> str:
        value = env("OPENAI_COMPAT_RESPONSE_FORMAT") or "url"
        if value not in RESPONSE_FORMATS:
            raise InvalidRequest(
                "response_format",
                f"OPENAI_COMPAT_RESPONSE_FORMAT must be one of {', '.join(RESPONSE_FORMATS)}, not {value!r}.",
            )
        return value

    def payload(self, req: GenerationRequest) -> dict:
        parameters: dict = {"prompt_extend": req.prompt_extend}
        if req.seed is not None:
            parameters["seed"] = req.seed
        return {
            "model": self.settings.model_name or self.default_model,
            "prompt": req.prompt,
            "size": f"{req.width}x{req.height}",
            "n": 1,
            "response_format": self.response_format,
            "parameters": parameters,
        }

    def generate(self, req: GenerationRequest) -> GenerationResult:
        response = self.call("POST", PATH, json=self.payload(req))
        body = json_body(response)
        if response.status_code != 200 or body.get("error"):
            raise openai_error(response, body)
        data = body.get("data")
        if not isinstance(data, list) or not data:
            raise bad_response("The provider's answer has no image in it.")
        url, image = image_of(data[0])
        return GenerationResult(
            image_url=url,
            image_bytes=image,
            url_expires_at=self.url_expiry() if url else None,
            seed=req.seed,
            rewritten_prompt=data[0].get("revised_prompt") or "",
            reasoning=data[0].get("reasoning_content") or "",
            request_id=response.headers.get("x-request-id", ""),
            cost=self.cost(body),
        )

    def cost(self, body: dict) -> dict:
        usage = body.get("usage")
        return usage if isinstance(usage, dict) else {}


def openai_error(response: httpx.Response, body: dict) -> ProviderError:
    code, detail = error_detail(body)
    return status_error(
        response,
        code=code,
        detail=detail,
        message=MESSAGES.get(code, ""),
        retryable=False if code in PERMANENT else None,
    )
