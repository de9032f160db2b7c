"""At most `ProviderConfig.max_concurrency` calls to one provider at a time,
across every worker process on every machine, shared fairly between users.

The slots are rows in the database: a worker takes one with a conditional
UPDATE (`holder IS NULL`), which exactly one worker can win on SQLite and
PostgreSQL alike, and gives it back when the call ends. A slot held longer
than the provider's timeout (its worker was killed) is taken over.

Fair share: for a provider with a limit, the database is the queue. A worker
that takes a slot runs the queued generation `fair_next` picks; when its call
ends it frees the slot and wakes a worker for the next turn (pipeline.
provider_serve); so when user A has 500 images waiting and user B asks for
one, B's starts as soon as any of A's calls ends. `fair_next` takes the user
with the fewest calls in the provider's slots (ties: whoever has waited
longest), and within a user their single requests before their batch items,
oldest first. Nobody polls: a worker that finds every
slot taken goes away, because the slots' holders will come to its row.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db.models import Case, Count, F, IntegerField, Min, Q, Value, When
from django.utils import timezone

from generations.lifecycle import status
from generations.models import Generation, ProviderSlot
from generations.providers import ProviderError
from generations.providers.registry import provider_configs

STALE_MARGIN_S = 60
Status = Generation.Status


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


def slot_limit(provider: str) -> int:
    """The provider's call limit; 0 when it has none (no slots, no site queue)."""
    config = provider_configs().get(provider)  # kept CONFIG_CACHE_SECONDS
    return config.max_concurrency if config else 0


def _stale_after(provider: str) -> timedelta:
    config = provider_configs().get(provider)
    return timedelta(seconds=(config.timeout_s if config else 120) + STALE_MARGIN_S)


@contextmanager
def provider_slot(generation: Generation):
    """Hold one of the provider's call slots around the call of a generation
    already claimed (run in its caller's request); raise ProviderBusy when none
    is free. Providers without a limit pass straight through."""
    limit = slot_limit(generation.provider)
    if not limit:
        yield
        return
    slot = slot_take(generation.provider, limit, generation.pk)
    if slot is None:
        raise ProviderBusy(generation.provider, limit)
    try:
        yield
    finally:
        slot_release(slot)


def slot_take(provider: str, limit: int, holder) -> int | None:
    """A free (or stale) slot of `provider`, now held by `holder`; None when all are taken."""
    slots = ProviderSlot.objects.filter(provider=provider, number__lt=limit)
    if slots.count() < limit:
        ProviderSlot.objects.bulk_create(
            [ProviderSlot(provider=provider, number=n) for n in range(limit)], ignore_conflicts=True
        )
    now = timezone.now()
    free = Q(holder__isnull=True) | Q(taken_at__lt=now - _stale_after(provider))
    for pk in slots.filter(free).values_list("pk", flat=True):
        # The WHERE is checked again under the row lock: one worker wins a slot.
        if ProviderSlot.objects.filter(free, pk=pk).update(holder=holder, taken_at=now):
            return pk
    return None


def slot_release(slot: int) -> None:
    ProviderSlot.objects.filter(pk=slot).update(holder=None, taken_at=None)


def slot_free(provider: str) -> bool:
    """Whether a slot of `provider` is free now (a hint: taking one decides)."""
    return ProviderSlot.objects.filter(
        provider=provider, number__lt=slot_limit(provider), holder__isnull=True
    ).exists()


def slot_free_of(holder) -> None:
    """Free the slot a lost worker held for `holder` (a generation the reaper takes back)."""
    ProviderSlot.objects.filter(holder=holder).update(holder=None, taken_at=None)


def slots_free_orphans(*, older_than: timedelta) -> int:
    """Free slots held longer than `older_than` for no running generation: a
    worker killed between taking a slot and claiming a row (or freeing it)
    held it. A live worker holds a slot that way for milliseconds."""
    running = Generation.objects.filter(status=Status.RUNNING).values("pk")
    orphans = ProviderSlot.objects.filter(
        holder__isnull=False, taken_at__lt=timezone.now() - older_than
    ).exclude(holder__in=running)
    return orphans.update(holder=None, taken_at=None)


def _ready(provider: str):
    """Queued generations of `provider` that may start now (past any backoff)."""
    return Generation.objects.filter(
        Q(run_after__isnull=True) | Q(run_after__lte=timezone.now()),
        status=Status.QUEUED,
        provider=provider,
        cancel_requested=False,
    )


def queue_ready(provider: str) -> bool:
    return _ready(provider).exists()


def fair_next(provider: str) -> Generation | None:
    """The queued generation of `provider` whose turn it is (see the module's
    doc); with FAIR_SHARE off, the oldest (first come, first served)."""
    ready = _ready(provider)
    if not settings.FAIR_SHARE:
        return ready.order_by("created_at", "batch_index").select_related("owner").first()
    waiting = list(ready.values("owner").annotate(first=Min("created_at")).values_list("owner", "first"))
    if not waiting:
        return None
    holders = ProviderSlot.objects.filter(provider=provider, holder__isnull=False).values("holder")
    in_slots = dict(
        Generation.objects.filter(pk__in=holders)
        .values("owner")
        .annotate(n=Count("pk"))
        .values_list("owner", "n")
    )
    owner = min(waiting, key=lambda row: (in_slots.get(row[0], 0), row[1]))[0]
    batched = Case(When(batch__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField())
    return (
        ready.filter(owner=owner)
        .annotate(batched=batched)
        .order_by("batched", "created_at", "batch_index")
        .select_related("owner")
        .first()
    )


def claim_next(provider: str, slot: int) -> Generation | None:
    """Claim the fair next generation of `provider` for the held `slot` (its
    holder becomes the generation); None when nothing is ready. A row another
    worker claimed first is passed over for the next pick."""
    for _ in range(5):
        generation = fair_next(provider)
        if generation is None:
            return None
        ProviderSlot.objects.filter(pk=slot).update(holder=generation.pk, taken_at=timezone.now())
        if status.move(
            generation.pk,
            sources=Status.QUEUED,
            target=Status.RUNNING,
            where={"cancel_requested": False},
            attempts=F("attempts") + 1,
        ):
            generation.status, generation.attempts = Status.RUNNING, generation.attempts + 1
            return generation
    return None
