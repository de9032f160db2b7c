"""zimageturbo.ai task API (seed 004): submit, then poll.

`POST {base}/api/generate {prompt, aspect_ratio}` answers a `task_id`;
`GET {base}/api/status?task_id=` answers IN_PROGRESS, then SUCCESS with the
image URLs in `response` and `consumed_credits`, or FAILED with
`error_message`. Both wrap their data as `{"code", "message", "data"}`; errors
are 401 (bad key), 402 (insufficient balance) and 429 (rate limit).

Only an aspect ratio can be asked for, and the service picks the pixels. The
presets are one nominal size of about 1 MP per ratio (what we price); the
stored image is checked for its ratio only and its real size is recorded.
"""

from generations.providers.base import (
    Capabilities,
    GenerationRequest,
    GenerationResult,
    Provider,
    ProviderError,
    aspect_ratio,
    bad_response,
    error_detail,
    json_body,
    status_error,
)

RATIOS = ("1:1", "4:3", "3:4", "16:9", "9:16")
PRESETS = ((1024, 1024), (1152, 864), (864, 1152), (1280, 720), (720, 1280))


class ZImageTurboProvider(Provider):
    name = "zimageturbo"
    label = "zimageturbo.ai"
    variables = (("ZIMAGETURBO_API_KEY", True), ("ZIMAGETURBO_BASE_URL", False))
    docs_section = "zimageturboai"
    default_base_url = "https://zimageturbo.ai"
    # No seed and no prompt rewriting in this API; URL lifetime undocumented,
    # so assume an hour and copy at once.
    capabilities = Capabilities(
        aspect_ratios=RATIOS,
        max_prompt_chars=1000,
        seed_range=None,
        prompt_extend=False,
        mode="poll",
        presets=PRESETS,
    )

    def submit(self, req: GenerationRequest) -> str:
        data = _data(
            self.call(
                "POST",
                "/api/generate",
                json={"prompt": req.prompt, "aspect_ratio": aspect_ratio(req.width, req.height)},
            )
        )
        task_id = data.get("task_id")
        if not task_id or not isinstance(task_id, str):
            raise bad_response("The provider accepted the job but sent no task id.")
        return task_id

    def poll(self, task_id: str) -> GenerationResult | None:
        data = _data(self.call("GET", "/api/status", params={"task_id": task_id}))
        status = data.get("status")
        if status == "SUCCESS":
            return self.result(task_id, data)
        if status == "FAILED":
            reason = data.get("error_message") or "no reason given"
            raise ProviderError(
                "GenerationFailed", f"The provider could not make this image ({reason}).", request_id=task_id
            )
        if not isinstance(status, str) or not status:
            raise bad_response("The provider's status answer has no status.")
        # IN_PROGRESS, or a queued state it does not document: ask again later
        # (the caller bounds the total wait).
        return None

    def result(self, task_id: str, data: dict) -> GenerationResult:
        urls = data.get("response")
        if not isinstance(urls, list) or not urls or not isinstance(urls[0], str):
            raise bad_response("The provider says the image is ready but sent no URL.")
        cost = data.get("consumed_credits")
        return GenerationResult(
            image_url=urls[0],
            url_expires_at=self.url_expiry(),
            seed=_seed(data.get("request")),
            request_id=task_id,
            cost={"consumed_credits": cost} if cost is not None else {},
        )


def _data(response) -> dict:
    """The `data` of a `{"code", "message", "data"}` answer, or ProviderError.
    The body's own `code` counts too: an error may come with HTTP 200."""
    body = json_body(response)
    code = body.get("code", response.status_code)
    status = code if isinstance(code, int) else response.status_code
    if response.status_code != 200 or status != 200:
        _, detail = error_detail(body)
        raise status_error(response, status=status if status != 200 else None, detail=detail)
    data = body.get("data")
    if not isinstance(data, dict):
        raise bad_response("The provider's answer has no data in it.")
    return data


def _seed(request) -> int | None:
    """The seed the service used, when it says (it sends "-1" for random)."""
    try:
        seed = int((request or {}).get("seed"))
    except (TypeError, ValueError, AttributeError):
        return None
    return seed if seed >= 0 else None
