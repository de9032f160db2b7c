"""Fake provider servers, by registry name. Each module has `serve()`,
`API_KEY`, `ERRORS` (prompt marker -> (ProviderError code, retryable)) and
`THROTTLE` (a marker for a retryable rate limit)."""

from . import aimlapi, dashscope, openai_compat, zimageturbo

FAKES = {
    "dashscope": dashscope,
    "openai_compat": openai_compat,
    "aimlapi": aimlapi,
    "zimageturbo": zimageturbo,
}
