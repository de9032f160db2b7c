"""Alibaba Cloud Model Studio (DashScope), synchronous multimodal-generation API.

Wire facts: ../shared/seeds/001 and seeds/README.md. `size` is `W*H`; the image
URL in `output.choices[0].message.content` is valid for 24 hours; errors are
`{request_id, code, message}` with an HTTP status.
"""

from datetime import timedelta

import httpx

from generations.providers.base import (
    RECOMMENDED_SIZES,
    Capabilities,
    GenerationRequest,
    GenerationResult,
    Provider,
    ProviderError,
    bad_response,
    json_body,
    status_error,
)

PATH = "/api/v1/services/aigc/multimodal-generation/generation"
REGIONS = {
    "beijing": "https://dashscope.aliyuncs.com",
    "singapore": "https://dashscope-intl.aliyuncs.com",
}

# Plain-language messages for the documented codes; retryable codes from the table.
MESSAGES = {
    "InvalidParameter": "The provider rejected a parameter (size, seed or prompt).",
    "DataInspectionFailed": "The prompt or the image failed the provider's content moderation.",
    "IPInfringementSuspect": "The prompt was flagged as possibly infringing intellectual property.",
    "Arrearage": "The provider account is in arrears; an admin must top it up.",
    "InvalidApiKey": "The provider rejected the API key; an admin must fix it.",
    "AccessDenied": "The provider account may not use this model.",
    "AccessDenied.Unpurchased": "The provider account has not purchased this model.",
    "RequestTimeOut": "The provider timed out.",
    "BadRequest.TooLarge": "The request was too large for the provider.",
    "Throttling": "The provider is rate limiting requests.",
    "Throttling.RateQuota": "The provider's request rate quota was exceeded.",
    "Throttling.BurstRate": "Too many requests at once for the provider.",
    "Throttling.AllocationQuota": "The provider account's quota is used up.",
    "InternalError": "The provider had an internal error.",
    "InternalError.Algo": "The provider's model failed on this request.",
}
RETRYABLE = {
    "RequestTimeOut",
    "Throttling",
    "Throttling.RateQuota",
    "Throttling.BurstRate",
    "InternalError",
    "InternalError.Algo",
}

# Seed 002's sizes plus the two seed 000 names.
PRESETS = RECOMMENDED_SIZES + ((1536, 864), (1280, 720))


class DashScopeProvider(Provider):
    name = "dashscope"
    label = "Alibaba Cloud DashScope"
    variables = (
        ("DASHSCOPE_API_KEY", True),
        ("DASHSCOPE_REGION", False),
        ("DASHSCOPE_BASE_URL", False),
        ("DASHSCOPE_MODEL", False),
    )
    docs_section = "dashscope"
    default_base_url = REGIONS["beijing"]
    capabilities = Capabilities(
        max_prompt_chars=800,
        url_lifetime=timedelta(hours=24),
        presets=PRESETS,
    )

    @property
    def base_url(self) -> str:
        if self.settings.base_url:
            return self.settings.base_url.rstrip("/")
        return REGIONS.get(self.settings.region.lower(), self.default_base_url)

    def payload(self, req: GenerationRequest) -> dict:
        parameters = {"size": f"{req.width}*{req.height}", "prompt_extend": req.prompt_extend}
        if req.seed is not None:
            parameters["seed"] = req.seed
        return {
            "model": self.settings.model_name or "z-image-turbo",
            "input": {"messages": [{"role": "user", "content": [{"text": req.prompt}]}]},
            "parameters": parameters,
        }

    def generate(self, req: GenerationRequest) -> GenerationResult:
        response = self.call("POST", PATH, json=self.payload(req))
        body = json_body(response)
        if response.status_code != 200 or body.get("code"):
            raise _error(response, body)
        return self.result(body, req)

    def result(self, body: dict, req: GenerationRequest) -> GenerationResult:
        try:
            message = body["output"]["choices"][0]["message"]
            content = message["content"]
            image = next(item["image"] for item in content if item.get("image"))
        except (KeyError, IndexError, TypeError, StopIteration, AttributeError):
            raise bad_response("The provider's answer has no image in it.") from None
        text = next((item["text"] for item in content if item.get("text")), "")
        usage = body.get("usage") or {}
        return GenerationResult(
            image_url=image,
            url_expires_at=self.url_expiry(),
            width=usage.get("width"),
            height=usage.get("height"),
            seed=req.seed,
            rewritten_prompt=text if req.prompt_extend else "",
            reasoning=message.get("reasoning_content") or "",
            request_id=body.get("request_id", ""),
            cost={k: usage[k] for k in ("image_count", "input_tokens", "output_tokens") if k in usage},
        )


def _error(response: httpx.Response, body: dict) -> ProviderError:
    """Documented codes get their own message and retry rule; unknown ones
    fall back to the HTTP status."""
    code = str(body.get("code") or "")
    return status_error(
        response,
        code=code,
        detail=str(body.get("message") or ""),
        message=MESSAGES.get(code, ""),
        retryable=(code in RETRYABLE) if code in MESSAGES else None,
        request_id=body.get("request_id", ""),
    )
