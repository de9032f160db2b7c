"""At most `ProviderConfig.max_concurrency` calls to one provider at a time,
across every worker process on every machine.

The slots are rows in the database: a worker takes one with a conditional
UPDATE (`holder IS NULL`), which exactly one worker can win on SQLite and
PostgreSQL alike, and gives it back when the call ends. A slot held longer
than the provider's timeout (its worker was killed) is taken over.
"""

import random
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from generations.models import Generation, ProviderSlot
from generations.providers import ProviderError
from generations.providers.registry import provider_configs

STALE_MARGIN_S = 60


class ProviderBusy(ProviderError):
    """Every slot is taken: the generation waits and asks again shortly. Not a
    failure and not an attempt against the retry bound."""

    def __init__(self, provider: str, limit: int):
        super().__init__(
            "ProviderBusy",
            f"Waiting for a free {provider} slot ({limit} at a time).",
            retryable=True,
            retry_after=settings.PROVIDER_SLOT_WAIT * random.uniform(0.5, 1.5),
        )


@contextmanager
def provider_slot(generation: Generation):
    """Hold one of the provider's call slots around the call; raise ProviderBusy
    when none is free. Providers without a limit pass straight through."""
    config = provider_configs().get(generation.provider)  # kept CONFIG_CACHE_SECONDS
    if not config or not config.max_concurrency:
        yield
        return
    limit, timeout_s = config.max_concurrency, config.timeout_s
    slot = _take(
        generation.provider, limit, generation.pk, stale_after=timedelta(seconds=timeout_s + STALE_MARGIN_S)
    )
    if slot is None:
        raise ProviderBusy(generation.provider, limit)
    try:
        yield
    finally:
        ProviderSlot.objects.filter(pk=slot, holder=generation.pk).update(holder=None, taken_at=None)


def _take(provider: str, limit: int, holder, *, stale_after: timedelta) -> int | None:
    slots = ProviderSlot.objects.filter(provider=provider, number__lt=limit)
    if slots.count() < limit:
        ProviderSlot.objects.bulk_create(
            [ProviderSlot(provider=provider, number=n) for n in range(limit)], ignore_conflicts=True
        )
    now = timezone.now()
    free = Q(holder__isnull=True) | Q(taken_at__lt=now - stale_after)
    for pk in slots.filter(free).values_list("pk", flat=True):
        # The WHERE is checked again under the row lock: one worker wins a slot.
        if ProviderSlot.objects.filter(free, pk=pk).update(holder=holder, taken_at=now):
            return pk
    return None
