"""Every provider call a generation made: recorded as an `Attempt` (provider,
code, time, seconds, what the provider charged) and reported to the
provider's circuit breaker (the call metrics are pipeline.provider_call's).
A failed call is never charged by any provider, so its cost is 0; a
successful one costs the provider's own price list (billing.pricing),
whichever provider the route's price came from."""

from __future__ import annotations

import time
from decimal import Decimal

from django.utils import timezone

from generations.billing import pricing
from generations.lifecycle import circuit
from generations.models import Attempt, Generation
from generations.providers import InvalidRequest, ProviderError


class CircuitOpen(ProviderError):
    """The provider's circuit is open: no call was made (not an attempt)."""

    def __init__(self, provider: str):
        super().__init__("CircuitOpen", f"{provider} is failing; its circuit is open.", retryable=True)


NOT_CALLED = ("ProviderBusy", "CircuitOpen")


def call_code(error: Exception | None) -> str:
    """How a provider call ended, in one word for attempts and metrics: "ok",
    the provider's error code, or ours for a refusal or a bug."""
    if error is None:
        return "ok"
    if isinstance(error, ProviderError):
        return error.code
    return "InvalidRequest" if isinstance(error, InvalidRequest) else "InternalError"


def attempt_ended(generation: Generation, *, started: float, error: Exception | None = None) -> None:
    """Record the call to `generation.provider` that began at `started`
    (time.monotonic()) and ended with `error` (None: an image)."""
    if isinstance(error, ProviderError) and error.code in NOT_CALLED:
        return
    seconds = time.monotonic() - started
    provider = generation.provider
    cost = Decimal(0)
    if error is None:
        cost = pricing.quote(
            provider=provider,
            width=generation.width,
            height=generation.height,
            prompt_extend=generation.prompt_extend,
        ).provider_cost
        circuit.record(provider, ok=True)
    elif isinstance(error, ProviderError) and error.retryable:
        # a permanent error (moderation, bad parameter) says nothing of its health
        circuit.record(provider, ok=False)
    Attempt.objects.create(
        generation_id=generation.pk,
        provider=provider,
        code=call_code(error)[:80],
        at=timezone.now(),
        seconds=seconds,
        cost=cost,
    )
