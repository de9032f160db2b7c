"""Running a generation: claim it, call the provider (or submit and poll),
retry what is worth retrying, then hand the result to `copying`. Each function
here is called by a thin Huey task and returns the delay before it should run
again, or None when it is done."""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from generations import tasks
from generations.billing import ledger
from generations.lifecycle import circuit, routes, slots, status
from generations.lifecycle.attempts import CircuitOpen, attempt_ended, call_code
from generations.lifecycle.backoff import backoff, poll_delay
from generations.lifecycle.services import generation_enqueue
from generations.lifecycle.slots import ProviderBusy, provider_slot
from generations.lifecycle.status import generation_fail
from generations.lifecycle.store import (
    generation_copy,
    generation_record_result,
    generation_schedule_store,
    generation_store_in_hand,
)
from generations.models import Generation
from generations.providers import GenerationRequest, InvalidRequest, ProviderError
from generations.providers.registry import get_provider
from generations.runtime import metrics
from generations.runtime.dbconn import connection_release_idle
from generations.runtime.logcontext import generation_context

log = logging.getLogger(__name__)
Status = Generation.Status


def generation_request(generation: Generation) -> GenerationRequest:
    return GenerationRequest(
        prompt=generation.prompt,
        width=generation.width,
        height=generation.height,
        seed=generation.seed_used,
        prompt_extend=generation.prompt_extend,
        steps=generation.steps,
    )


def generation_run(*, generation_id, provider: str | None = None, thumbnail: bool = True) -> float | None:
    """Run one queued generation: call a sync provider and store its image, or
    submit to a submit+poll provider and schedule the first poll. Returns a
    delay in seconds when the provider asked to be tried again later (the
    caller re-schedules). `thumbnail=False` leaves the thumbnail to a task.
    A provider with a call limit runs its queue in fair order instead
    (`provider_serve`): this generation when its turn comes."""
    if provider is None:  # a message from before the provider travelled with it
        provider = Generation.objects.filter(pk=generation_id).values_list("provider", flat=True).first()
    if provider is not None and slots.slot_limit(provider):
        provider_serve(provider, thumbnail=thumbnail)
        return None
    claimed = status.move(
        generation_id, sources=Status.QUEUED, target=Status.RUNNING, attempts=F("attempts") + 1
    )
    if not claimed:  # canceled, or another worker has it: running twice is harmless
        return None
    generation = Generation.objects.select_related("owner").get(pk=generation_id)
    return _run_claimed(generation, thumbnail=thumbnail)


def provider_serve(provider: str, *, thumbnail: bool = True) -> None:
    """Take a call slot of `provider` (a limited one), claim the queued
    generation whose turn it is (`slots.fair_next`) and run it. Every slot
    taken: return at once, the worker that frees one wakes the next turn.
    The slot is held for the provider call only, not the copy into storage:
    freeing it sends the next wake-up while this worker stores. A retried
    generation waits out its backoff in the queue (`run_after`), with a
    wake-up scheduled for when it ends."""
    slot = slots.slot_take(provider, slots.slot_limit(provider), uuid.uuid4())  # until a generation holds it
    if slot is None:
        return
    generation = slots.claim_next(provider, slot)
    if generation is None:
        slots.slot_release(slot)
        if slots.queue_ready(provider):  # a row queued between the look and the release
            tasks.serve_provider(provider)
        return
    if slots.slot_free(provider) and slots.queue_ready(provider):
        tasks.serve_provider(provider)  # more waiting and another slot free: fill it too
    with generation_context(generation.pk):  # the turn's generation, not the wake-up's
        delay = _run_claimed(generation, thumbnail=thumbnail, slot=slot)
    if delay is not None:
        tasks.serve_provider.schedule((provider,), delay=delay)


@contextmanager
def provider_call(provider: str):
    """Around one call to a provider (generate, submit or poll): the one
    place every call passes, so its time and outcome go to the metrics."""
    started, error = time.monotonic(), None
    try:
        yield
    except Exception as exc:
        error = exc
        raise
    finally:
        metrics.call_observed(provider, time.monotonic() - started, call_code(error))


@contextmanager
def _holding(slot: int, provider: str):
    """Around the call of a generation claimed for `slot`: then free the slot
    and wake the next turn if anything waits."""
    try:
        yield
    finally:
        slots.slot_release(slot)
        if slots.queue_ready(provider):
            tasks.serve_provider(provider)


def _run_claimed(generation: Generation, *, thumbnail: bool, slot: int | None = None) -> float | None:
    provider = get_provider(generation.provider)
    started = time.monotonic()
    try:
        with provider_slot(generation) if slot is None else _holding(slot, generation.provider):
            # A routed generation skips a provider whose circuit is open (it
            # falls back); one naming its provider asked for that one only.
            if generation.route and not circuit.allow(generation.provider):
                raise CircuitOpen(generation.provider)
            connection_release_idle()  # the call takes seconds; the pool's connection is not needed
            started = time.monotonic()
            if provider.capabilities.mode == "poll":
                _submit(generation, provider)
                return None
            with provider_call(generation.provider):
                result = provider.generate(generation_request(generation))
    except Exception as exc:  # every failure must end or retry the row
        attempt_ended(generation, started=started, error=exc)
        return _call_failed(generation, exc)
    attempt_ended(generation, started=started)
    if result.image_bytes is not None:
        generation_store_in_hand(generation, provider, result, thumbnail=thumbnail)
    elif generation_record_result(generation, result):
        generation_schedule_store(
            generation.pk, generation_copy(generation, provider, result, thumbnail=thumbnail)
        )
    return None


def generation_run_now(*, generation: Generation) -> None:
    """Run a generation just made with `generation_create(claim=True)` in this
    process instead of a worker's: for the OpenAI endpoint, whose caller waits
    for the image anyway, a hop through the queue only adds latency. On
    success `generation` holds the stored image's fields. The thumbnail, a
    later retry, a copy to try again and a submit+poll provider's polls go to
    the queue as usual; if this process dies mid-call, the reaper re-queues the row."""
    delay = _run_claimed(generation, thumbnail=False)
    if delay is not None:
        generation_enqueue(generation.pk, delay=delay, provider=generation.provider)


def _submit(generation: Generation, provider) -> None:
    """Start the provider's job and leave the waiting to scheduled polls, so
    no worker thread sits idle while the image is made."""
    with provider_call(generation.provider):
        task_id = provider.submit(generation_request(generation))
    Generation.objects.filter(pk=generation.pk, status=Status.RUNNING).update(
        request_id=task_id[:200], error_code="", error_message="", updated_at=timezone.now()
    )
    generation_schedule_poll(generation.pk, settings.PROVIDER_POLL_INITIAL)


def generation_schedule_poll(generation_id, delay: float) -> None:
    tasks.poll_generation.schedule((str(generation_id),), delay=delay)


def _call_failed(generation: Generation, exc: Exception) -> float | None:
    """Provider errors retry or fail by their kind; anything else is a bug,
    which must not leave credits held or the row running."""
    if isinstance(exc, ProviderError):
        return _provider_failed(generation, exc)
    if isinstance(exc, InvalidRequest):
        generation_fail(generation=generation, code="InvalidRequest", message=exc.message)
        return None
    log.error("provider call crashed for generation %s", generation.pk, exc_info=exc)
    generation_fail(
        generation=generation,
        code="InternalError",
        message="Something went wrong on our side; your credits were returned.",
    )
    return None


def _provider_failed(generation: Generation, exc: ProviderError) -> float | None:
    """Retryable errors go back to the queue with backoff, bounded in count
    and in time since creation; the rest end the generation at once."""
    if isinstance(exc, ProviderBusy):  # waiting for a call slot: not an attempt, never a failure
        return _retry_later(generation, exc, exc.retry_after or 0, attempt_used=False)
    message = exc.message
    if exc.retryable:
        called = not isinstance(exc, CircuitOpen)
        window = timedelta(seconds=settings.PROVIDER_RETRY_WINDOW)
        within = generation.attempts - int(not called) < settings.PROVIDER_MAX_ATTEMPTS
        if within and timezone.now() <= generation.created_at + window and generation.route:
            tried = set(generation.attempt_records.values_list("provider", flat=True))
            to = routes.route_next(
                generation.route,
                generation.provider,
                generation_request(generation),
                tried=tried,
                called=called,
                allowed=ledger.account_for(generation.owner).allows_provider,
            )
            if to is not None:
                _fall_back(generation, exc, to, attempt_used=called)
                return None
        delay = backoff(max(generation.attempts, 1), retry_after=exc.retry_after)
        in_window = timezone.now() + timedelta(seconds=delay) <= generation.created_at + window
        if within and in_window:
            return _retry_later(generation, exc, delay, attempt_used=called)
        message = f"{message} Gave up after {generation.attempts} attempts."
    generation_fail(generation=generation, code=exc.code, message=message, request_id=exc.request_id)
    return None


def _retry_later(
    generation: Generation, exc: ProviderError, delay: float, *, attempt_used: bool = True
) -> float | None:
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if status.cancel_if_requested(locked):  # the owner gave up on it: no more tries
            return None
        status.move(
            generation.pk,
            sources=Status.RUNNING,
            target=Status.QUEUED,
            error_code=exc.code,
            error_message=exc.message,
            attempts=F("attempts") - int(not attempt_used),
            run_after=timezone.now() + timedelta(seconds=delay),
        )
    log.info("generation %s: %s, retry %d in %.1fs", generation.pk, exc.code, generation.attempts, delay)
    return delay


def _fall_back(generation: Generation, exc: ProviderError, to: str, *, attempt_used: bool) -> None:
    """Send a routed generation to the route's next provider `to` at once:
    back to the queue under that provider (so a fallback takes one of its call
    slots, and waits its fair turn), with a wake-up for it."""
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if status.cancel_if_requested(locked):
            return
        moved = status.move(
            generation.pk,
            sources=Status.RUNNING,
            target=Status.QUEUED,
            provider=to,
            error_code=exc.code,
            error_message=exc.message,
            attempts=F("attempts") - int(not attempt_used),
            run_after=None,
        )
    if moved:
        log.info(
            "generation %s: %s on %s, falling back to %s", generation.pk, exc.code, generation.provider, to
        )
        metrics.fallback_taken(generation.route, generation.provider, to, exc.code)
        generation_enqueue(generation.pk, provider=to)


def generation_poll(*, generation_id) -> float | None:
    """Ask a submit+poll provider once how a job is doing. Returns the delay
    before asking again, or None once the generation has ended."""
    generation = (
        Generation.objects.select_related("owner")
        .exclude(request_id="")
        .filter(pk=generation_id, status=Status.RUNNING)
        .first()
    )
    if generation is None:  # ended meanwhile (reaped, failed): nothing to ask
        return None
    now = timezone.now()
    # Touch the row: the reaper only takes generations nobody has looked at.
    Generation.objects.filter(pk=generation.pk).update(updated_at=now)
    waited = (now - (generation.started_at or generation.created_at)).total_seconds()
    try:
        provider = get_provider(generation.provider)
        connection_release_idle()
        with provider_call(generation.provider):
            result = provider.poll(generation.request_id)
    except ProviderError as exc:
        # A retryable error: ask again later; never submit a second job.
        if exc.retryable and waited < settings.PROVIDER_POLL_TIMEOUT:
            return max(poll_delay(waited), exc.retry_after or 0)
        attempt_ended(generation, started=time.monotonic() - waited, error=exc)
        generation_fail(generation=generation, code=exc.code, message=exc.message)
        return None
    except Exception as exc:  # a bug must still end the row
        return _call_failed(generation, exc)
    if result is None:
        return _poll_again(generation, waited)
    attempt_ended(generation, started=time.monotonic() - waited)
    if generation_record_result(generation, result):
        generation_schedule_store(generation.pk, generation_copy(generation, provider, result))
    return None


def _poll_again(generation: Generation, waited: float) -> float | None:
    """Another look later, unless the provider has had all the time it gets."""
    if waited < settings.PROVIDER_POLL_TIMEOUT:
        return poll_delay(waited)
    generation_fail(
        generation=generation,
        code="Timeout",
        message=(
            f"The provider did not finish within {settings.PROVIDER_POLL_TIMEOUT:.0f} seconds; "
            "your credits were returned."
        ),
    )
    return None
