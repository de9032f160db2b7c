"""Running a generation: claim it, call the provider (or submit and poll),
retry what is worth retrying, and copy the image into storage, itself retried
until the source expires. Each function here is called by a thin Huey task and
returns the delay before it should run again, or None when it is done."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import credits
from .dbconn import connection_release_idle
from .fetch import url_expiry
from .models import Generation, PendingImage
from .providers import GenerationRequest, GenerationResult, InvalidRequest, ProviderError
from .providers.registry import get_provider
from .services import generation_cancel_locked, generation_fail, generation_finished
from .slots import ProviderBusy, provider_slot
from .storage import StoreError, store_image
from .thumbnails import thumbnail_enqueue

log = logging.getLogger(__name__)
Status = Generation.Status


def generation_request(generation: Generation) -> GenerationRequest:
    return GenerationRequest(
        prompt=generation.prompt, width=generation.width, height=generation.height,
        seed=generation.seed_used, prompt_extend=generation.prompt_extend, steps=generation.steps,
    )


def generation_schedule_store(generation_id, delay: float | None) -> None:
    if delay is not None:
        from .tasks import store_generation

        store_generation.schedule((str(generation_id),), delay=delay)


def generation_run(*, generation_id, thumbnail: bool = True) -> float | None:
    """Run one queued generation: call a sync provider and store its image, or
    submit to a submit+poll provider and schedule the first poll. Returns a
    delay in seconds when the provider asked to be tried again later (the
    caller re-schedules). `thumbnail=False` leaves the thumbnail to a task."""
    now = timezone.now()
    claimed = Generation.objects.filter(pk=generation_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, updated_at=now, attempts=F("attempts") + 1)
    if not claimed:  # canceled, or another worker has it: running twice is harmless
        return None
    generation = Generation.objects.select_related("owner").get(pk=generation_id)
    provider = get_provider(generation.provider)
    try:
        with provider_slot(generation):
            connection_release_idle()  # the call takes seconds; the pool's connection is not needed
            if provider.capabilities.mode == "poll":
                return _submit(generation, provider)
            result = provider.generate(generation_request(generation))
    except Exception as exc:  # every failure must end or retry the row
        return _call_failed(generation, exc)
    if result.image_bytes is not None:
        _store_first(generation, provider, result, thumbnail=thumbnail)
    elif _record_result(generation, result):
        generation_schedule_store(generation.pk,
                                  _store(generation, provider, result, thumbnail=thumbnail))
    return None


def _store_first(generation: Generation, provider, result: GenerationResult, *,
                 thumbnail: bool) -> None:
    """Bytes in hand (nothing expires): store them first, then record, succeed
    and capture in one transaction. Stashing the bytes in the database (and a
    second transaction) is needed only when the copy must be tried again; a
    worker lost in between leaves the row running, and the reaper runs it again."""
    try:
        stored = _store_image(generation, provider, result, thumbnail=thumbnail)
    except StoreError as exc:
        if not exc.retryable:
            generation_fail(generation=generation, code=exc.code, message=exc.message)
        elif _record_result(generation, result):  # stashed: the copy is retried like any other
            generation_schedule_store(generation.pk, _store_failed(generation, exc))
        return
    except Exception:
        log.exception("storing crashed for generation %s", generation.pk)
        generation_fail(generation=generation, code="InternalError",
                        message="The image could not be stored; your credits were returned.")
        return
    _copy_result_fields(generation, result)
    with transaction.atomic():
        updated = Generation.objects.filter(
            pk=generation.pk, status=Status.RUNNING, cancel_requested=False,
        ).update(**{f: getattr(generation, f) for f in RESULT_FIELDS}, **_stored_fields(stored))
        if updated:
            _succeeded(generation, stored)
            return
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if locked.status != Status.RUNNING:
            return  # reaped meanwhile: the run that took it over owns these file names
        generation_cancel_locked(locked)  # its owner canceled during the call
    _discard(stored)  # not delivered, not charged


def _stored_fields(stored) -> dict:
    now = timezone.now()
    return {"status": Status.SUCCEEDED, "finished_at": now, "updated_at": now,
            "image": stored.name, "thumbnail": stored.thumbnail, "image_width": stored.width,
            "image_height": stored.height, "image_bytes": stored.size, "sha256": stored.sha256,
            "content_type": stored.content_type}


def _succeeded(generation: Generation, stored) -> None:
    """In the transaction that marked it succeeded: charge, tell, thumbnail."""
    credits.capture(generation=generation)
    generation_finished(generation=generation)
    if not stored.thumbnail:
        thumbnail_enqueue(generation.pk)


def _discard(stored) -> None:
    for name in filter(None, [stored.name, stored.thumbnail]):
        default_storage.delete(name)


def generation_run_now(*, generation_id) -> None:
    """Run a just-created generation in this process instead of a worker's:
    for the OpenAI endpoint, whose caller waits for the image anyway, a hop
    through the queue only adds latency. The thumbnail, a later retry, a copy
    to try again and a submit+poll provider's polls go to the queue as usual;
    if this process dies mid-call, the reaper re-queues the row."""
    from .services import generation_enqueue

    delay = generation_run(generation_id=generation_id, thumbnail=False)
    if delay is not None:
        generation_enqueue(generation_id, delay=delay)


def _submit(generation: Generation, provider) -> None:
    """Start the provider's job and leave the waiting to scheduled polls, so
    no worker thread sits idle while the image is made."""
    task_id = provider.submit(generation_request(generation))
    Generation.objects.filter(pk=generation.pk, status=Status.RUNNING).update(
        request_id=task_id[:200], error_code="", error_message="", updated_at=timezone.now())
    generation_schedule_poll(generation.pk, settings.PROVIDER_POLL_INITIAL)


def generation_schedule_poll(generation_id, delay: float) -> None:
    from .tasks import poll_generation

    poll_generation.schedule((str(generation_id),), delay=delay)


def _call_failed(generation: Generation, exc: Exception) -> float | None:
    """Provider errors retry or fail by their kind; anything else is a bug,
    which must not leave credits held or the row running."""
    if isinstance(exc, ProviderError):
        return _provider_failed(generation, exc)
    if isinstance(exc, InvalidRequest):
        generation_fail(generation=generation, code="InvalidRequest", message=exc.message)
        return None
    log.error("provider call crashed for generation %s", generation.pk, exc_info=exc)
    generation_fail(generation=generation, code="InternalError",
                    message="Something went wrong on our side; your credits were returned.")
    return None


def _provider_failed(generation: Generation, exc: ProviderError) -> float | None:
    """Retryable errors go back to the queue with backoff, bounded in count
    and in time since creation; the rest end the generation at once."""
    if isinstance(exc, ProviderBusy):  # waiting for a call slot: not an attempt, never a failure
        return _retry_later(generation, exc, exc.retry_after, attempt_used=False)
    message = exc.message
    if exc.retryable:
        delay = backoff(generation.attempts, retry_after=exc.retry_after)
        window = timedelta(seconds=settings.PROVIDER_RETRY_WINDOW)
        in_window = timezone.now() + timedelta(seconds=delay) <= generation.created_at + window
        if generation.attempts < settings.PROVIDER_MAX_ATTEMPTS and in_window:
            return _retry_later(generation, exc, delay)
        message = f"{message} Gave up after {generation.attempts} attempts."
    generation_fail(generation=generation, code=exc.code, message=message,
                    request_id=exc.request_id)
    return None


def _retry_later(generation: Generation, exc: ProviderError, delay: float, *,
                 attempt_used: bool = True) -> float | None:
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if locked.cancel_requested:  # the owner gave up on it: no more tries
            generation_cancel_locked(locked)
            return None
        Generation.objects.filter(pk=generation.pk, status=Status.RUNNING).update(
            status=Status.QUEUED, error_code=exc.code, error_message=exc.message,
            attempts=F("attempts") - int(not attempt_used), updated_at=timezone.now())
    log.info("generation %s: %s, retry %d in %.1fs", generation.pk, exc.code,
             generation.attempts, delay)
    return delay


def generation_poll(*, generation_id) -> float | None:
    """Ask a submit+poll provider once how a job is doing. Returns the delay
    before asking again, or None once the generation has ended."""
    generation = (Generation.objects.select_related("owner").exclude(request_id="")
                  .filter(pk=generation_id, status=Status.RUNNING).first())
    if generation is None:  # ended meanwhile (reaped, failed): nothing to ask
        return None
    now = timezone.now()
    # Touch the row: the reaper only takes generations nobody has looked at.
    Generation.objects.filter(pk=generation.pk).update(updated_at=now)
    waited = (now - (generation.started_at or generation.created_at)).total_seconds()
    try:
        provider = get_provider(generation.provider)
        connection_release_idle()
        result = provider.poll(generation.request_id)
    except ProviderError as exc:
        # A retryable error: ask again later; never submit a second job.
        if exc.retryable and waited < settings.PROVIDER_POLL_TIMEOUT:
            return max(poll_delay(waited), exc.retry_after or 0)
        generation_fail(generation=generation, code=exc.code, message=exc.message)
        return None
    except Exception as exc:  # a bug must still end the row
        return _call_failed(generation, exc)
    if result is None:
        return _poll_again(generation, waited)
    if _record_result(generation, result):
        generation_schedule_store(generation.pk, _store(generation, provider, result))
    return None


def _poll_again(generation: Generation, waited: float) -> float | None:
    """Another look later, unless the provider has had all the time it gets."""
    if waited < settings.PROVIDER_POLL_TIMEOUT:
        return poll_delay(waited)
    generation_fail(generation=generation, code="Timeout", message=(
        f"The provider did not finish within {settings.PROVIDER_POLL_TIMEOUT:.0f} seconds; "
        "your credits were returned."))
    return None


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


def _record_result(generation: Generation, result) -> bool:
    """Keep what the provider said and move running -> storing; b64 bytes are
    stashed so the copy can be retried. False when the row ended meanwhile (the
    reaper took it) or the owner canceled: nothing is stored or charged."""
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if locked.status != Status.RUNNING:
            return False
        if locked.cancel_requested:
            generation_cancel_locked(locked)
            return False
        _copy_result_fields(generation, result)
        generation.status = Status.STORING
        # Only these: the owner may have trashed or shared the row meanwhile.
        generation.save(update_fields=[*RESULT_FIELDS, "status", "updated_at"])
        if result.image_bytes is not None:
            PendingImage.objects.update_or_create(generation=generation,
                                                  defaults={"data": result.image_bytes})
    return True


RESULT_FIELDS = ("request_id", "rewritten_prompt", "reasoning", "seed_used", "source_url",
                 "provider_cost", "error_code", "error_message", "source_expires_at")


def _copy_result_fields(generation: Generation, result) -> None:
    generation.request_id = result.request_id or generation.request_id
    generation.rewritten_prompt = result.rewritten_prompt
    generation.reasoning = result.reasoning
    generation.seed_used = result.seed if result.seed is not None else generation.seed_used
    generation.source_url = result.image_url
    generation.provider_cost = result.cost
    generation.error_code = generation.error_message = ""
    # The URL's own signature is more exact than the provider's documented lifetime.
    generation.source_expires_at = (url_expiry(result.image_url, fallback=None)
                                    if result.image_url else None) or result.url_expires_at


def storage_base_name(generation: Generation) -> str:
    created = generation.created_at
    return f"generations/{generation.owner_id}/{created:%Y}/{created:%m}/{generation.pk}"


def generation_store(*, generation_id) -> float | None:
    """Copy a `storing` generation's image into storage, then succeed and
    capture. Returns a delay when the copy should be tried again (storage or
    network trouble, before the source expires); fails and refunds otherwise."""
    generation = Generation.objects.filter(pk=generation_id, status=Status.STORING).first()
    if generation is None:  # finished meanwhile (a retry racing the rescue task)
        return None
    return _store(generation, get_provider(generation.provider), _stored_result(generation))


def _store(generation: Generation, provider, result: GenerationResult, *,
           thumbnail: bool = True) -> float | None:
    """generation_store's work, for a row, provider and result already in hand
    (right after the provider answered, none needs reading again)."""
    try:
        stored = _store_image(generation, provider, result, thumbnail=thumbnail)
    except StoreError as exc:
        return _store_failed(generation, exc)
    except Exception:  # a bug must not leave the row storing with credits held
        log.exception("storing crashed for generation %s", generation.pk)
        generation_fail(generation=generation, code="InternalError",
                        message="The image could not be stored; your credits were returned.")
        return None
    with transaction.atomic():
        updated = Generation.objects.filter(pk=generation.pk, status=Status.STORING).update(
            **_stored_fields(stored))
        if updated:
            PendingImage.objects.filter(generation=generation).delete()
            _succeeded(generation, stored)
    return None


def _store_image(generation: Generation, provider, result: GenerationResult, *, thumbnail: bool):
    return store_image(base_name=storage_base_name(generation), result=result,
                       expect=(generation.width, generation.height),
                       tolerance=provider.capabilities.size_tolerance,
                       ratio_only=provider.capabilities.ratio_only,
                       internal=provider.settings.internal, make_thumbnail=thumbnail)


def _stored_result(generation: Generation) -> GenerationResult:
    pending = PendingImage.objects.filter(generation=generation).first()
    if pending is not None:
        return GenerationResult(image_bytes=bytes(pending.data))
    return GenerationResult(image_url=generation.source_url)


def store_deadline(generation: Generation):
    """Until when a copy may still succeed: the source URL's expiry, or a
    window for stashed bytes (which never expire, but must not linger)."""
    if generation.source_url and generation.source_expires_at:
        return generation.source_expires_at
    return generation.created_at + timedelta(seconds=settings.STORE_RETRY_WINDOW)


def _store_failed(generation: Generation, exc: StoreError) -> float | None:
    attempts = generation.store_attempts + 1
    Generation.objects.filter(pk=generation.pk).update(
        store_attempts=attempts, updated_at=timezone.now(), error_code=exc.code,
        error_message=exc.message)
    if not exc.retryable:
        generation_fail(generation=generation, code=exc.code, message=exc.message)
        return None
    delay = min(backoff(attempts, base=settings.STORE_RETRY_BASE), settings.STORE_RETRY_MAX_DELAY)
    if timezone.now() + timedelta(seconds=delay) >= store_deadline(generation):
        generation_fail(generation=generation, code="ImageExpired", message=(
            "The provider's image link expired before the image could be copied "
            f"(last problem: {exc.message}); your credits were returned."))
        return None
    log.info("generation %s: copy failed (%s), retry %d in %.1fs", generation.pk, exc.code,
             attempts, delay)
    return delay
