"""Crash recovery: nothing stays in flight forever.

A queue message lost (a broker unreachable at create, a consumer killed
between taking a message and claiming its row, a claim that could not get a
database connection) leaves a row `queued` with nothing to wake it; a worker
killed mid-call leaves a row `running`; one killed mid-copy (or a storage
outage longer than the scheduled retries) leaves it `storing`. These
passes run periodically and when a consumer starts. They only touch rows older
than a timeout, so they never steal work from a live worker on another
machine, and every step is a conditional update, so running them twice (or on
several consumers at once) is harmless.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from generations import tasks
from generations.lifecycle import pipeline, services, slots, status, store
from generations.models import Generation
from generations.providers.registry import get_provider
from generations.webhooks import deliveries

log = logging.getLogger(__name__)
Status = Generation.Status


def generations_recover() -> dict[str, int]:
    return {
        "slots": slots.slots_free_orphans(older_than=timedelta(seconds=settings.REAPER_TIMEOUT)),
        "requeued": _rescue_queued(),
        "reaped": _reap_running(),
        "rescued": _rescue_storing(),
        "webhooks": deliveries.webhook_rescue(),
    }


def _rescue_queued() -> int:
    """Queued past QUEUED_RESCUE_AFTER with no run message waiting in the
    queue or its schedule: the message was lost. Send it again, or fail and
    refund a generation older than QUEUED_EXPIRE. Rows that do have a message
    are left alone, and a resent row is touched, so a pass never floods the
    queue with copies. A provider with a call limit keeps its queue in the
    database (slots.py): its rows wait for a slot, not for a message, so it
    gets one wake-up a pass, which finds a slot only if a dead worker left it
    (or none was taken), and its batch items wait their turn however long."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.QUEUED_RESCUE_AFTER)
    stale = Generation.objects.filter(status=Status.QUEUED, updated_at__lt=cutoff)
    candidates = list(
        stale.order_by("updated_at").values_list("pk", "created_at", "provider", "batch_id")[:RESCUE_BATCH]
    )
    if not candidates:
        return 0
    waiting = tasks.waiting_args("run_generation")
    expired = now - timedelta(seconds=settings.QUEUED_EXPIRE)
    woken: set[str] = set()
    count = 0
    for pk, created_at, provider, batch_id in candidates:
        if created_at < expired and batch_id is None:
            gen = Generation.objects.filter(pk=pk, status=Status.QUEUED).first()
            if gen is not None:
                status.generation_fail(  # still queued: a worker that just claimed it keeps it
                    generation=gen,
                    sources=[Status.QUEUED],
                    code="QueueTimeout",
                    message=("No worker could start this image in time; your credits were returned."),
                )
                count += 1
        elif slots.slot_limit(provider):
            if provider not in woken:
                woken.add(provider)
                tasks.serve_provider(provider)
        elif str(pk) not in waiting and stale.filter(pk=pk).update(updated_at=now):  # one pass wins it
            log.warning("generation %s queued with no task in the queue: sending it again", pk)
            services.generation_enqueue(pk, provider=provider)
            count += 1
    return count


RESCUE_BATCH = 1000  # rows looked at per pass; the next pass takes the rest


def _reap_running() -> int:
    """Running past REAPER_TIMEOUT: the provider's answer was never recorded.
    Try again while attempts remain (the user still gets the image), else fail
    and refund."""
    cutoff = timezone.now() - timedelta(seconds=settings.REAPER_TIMEOUT)
    count = 0
    for pk in Generation.objects.filter(status=Status.RUNNING, started_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            gen = Generation.objects.select_for_update().get(pk=pk)
            if gen.status != Status.RUNNING or gen.updated_at >= cutoff:
                continue  # a live worker (or a live chain of polls) has it
            count += 1
            log.warning("generation %s stuck in running since %s", pk, gen.started_at)
            _reap(gen)
    return count


def _reap(gen: Generation) -> None:
    """Inside a transaction, with the row locked. A call slot the lost worker
    held for it is freed at once, not only when it goes stale."""
    slots.slot_free_of(gen.pk)
    if status.cancel_if_requested(gen):
        return
    if _submitted(gen):
        # The job runs at the provider: look again, never submit a second one.
        # Touched, so the next pass does not start a second chain of polls.
        Generation.objects.filter(pk=gen.pk).update(updated_at=timezone.now())
        transaction.on_commit(lambda: pipeline.generation_schedule_poll(gen.pk, 0))
    elif gen.attempts < settings.PROVIDER_MAX_ATTEMPTS:
        status.move(gen.pk, sources=Status.RUNNING, target=Status.QUEUED)
        transaction.on_commit(lambda: services.generation_enqueue(gen.pk, provider=gen.provider))
    else:
        status.generation_fail(
            generation=gen,
            code="WorkerLost",
            message=("The worker handling this image stopped; your credits were returned."),
        )


def _submitted(gen: Generation) -> bool:
    """A submit+poll job the provider has accepted (its task id is recorded)."""
    return bool(gen.request_id) and get_provider(gen.provider).capabilities.mode == "poll"


def _rescue_storing() -> int:
    """Storing with no progress for STORE_RESCUE_AFTER: copy again, or end it
    failed and refunded once the source has expired."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.STORE_RESCUE_AFTER)
    count = 0
    stale = Generation.objects.filter(status=Status.STORING, updated_at__lt=cutoff)
    for gen in stale:
        if now >= store.store_deadline(gen):
            count += 1
            status.generation_fail(
                generation=gen,
                code="ImageExpired",
                message=(
                    "The provider's image link expired before the image could be copied; "
                    "your credits were returned."
                ),
            )
        elif stale.filter(pk=gen.pk).update(updated_at=now):  # once, not once per pass or consumer
            count += 1
            log.warning("rescuing generation %s stuck in storing", gen.pk)
            store.generation_schedule_store(gen.pk, 0)
    return count
