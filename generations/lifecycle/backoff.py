"""How long to wait before trying again: provider calls, polls and copies."""

import random

from django.conf import settings


def poll_delay(waited: float) -> float:
    """Half the time waited so far, with jitter, between the first interval
    and the cap: quick answers are seen quickly, slow jobs are not hammered."""
    delay = random.uniform(0.75, 1) * waited / 2
    return min(max(delay, settings.PROVIDER_POLL_INITIAL), settings.PROVIDER_POLL_MAX_INTERVAL)


def backoff(attempt: int, *, retry_after: float | None = None, base: float | None = None) -> float:
    """Exponential with jitter, at least what the provider asked for."""
    ceiling = (base or settings.PROVIDER_RETRY_BASE) * 2 ** (attempt - 1)
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0)
