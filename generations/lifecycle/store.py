"""Copying a provider's image into storage, and ending the generation with
it: record what the provider said, store (retried until the source expires),
succeed and capture. Called by `pipeline` right after the provider answers,
and by the `store_generation` task for a copy tried again."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from generations import tasks
from generations.images.fetch import url_expiry
from generations.images.ingest import StoreError, store_image
from generations.lifecycle import status
from generations.lifecycle.backoff import backoff
from generations.lifecycle.status import generation_fail, generation_finished
from generations.models import Generation, PendingImage
from generations.providers import GenerationResult
from generations.providers.registry import get_provider
from generations.runtime import metrics
from generations.runtime.dbconn import connection_release_idle

log = logging.getLogger(__name__)
Status = Generation.Status


def generation_schedule_store(generation_id, delay: float | None) -> None:
    if delay is not None:
        tasks.store_generation.schedule((str(generation_id),), delay=delay)


def generation_store_in_hand(
    generation: Generation, provider, result: GenerationResult, *, thumbnail: bool
) -> None:
    """Bytes in hand (nothing expires): store them first, then record, succeed
    and capture in one transaction. Stashing the bytes in the database (and a
    second transaction) is needed only when the copy must be tried again; a
    worker lost in between leaves the row running, and the reaper runs it again."""
    try:
        stored = _store_image(generation, provider, result, thumbnail=thumbnail)
    except StoreError as exc:
        if not exc.retryable:
            generation_fail(generation=generation, code=exc.code, message=exc.message)
        elif generation_record_result(generation, result):  # stashed, then retried as any copy
            generation_schedule_store(generation.pk, _store_failed(generation, exc))
        return
    _copy_result_fields(generation, result)
    fields = {**_result_fields(generation), **_stored_fields(stored)}
    if status.generation_succeed(generation, source=Status.RUNNING, fields=fields):
        _announce(generation, stored)
        return
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if locked.status != Status.RUNNING:
            return  # reaped meanwhile: the run that took it over owns these file names
        status.cancel_if_requested(locked)  # its owner canceled during the call
    _discard(stored)  # not delivered, not charged


def _stored_fields(stored) -> dict:
    # A copy retried past a storage outage succeeds with its last retry's error cleared.
    return {
        "error_code": "",
        "error_message": "",
        "image": stored.name,
        "thumbnail": stored.thumbnail,
        "image_width": stored.width,
        "image_height": stored.height,
        "image_bytes": stored.size,
        "sha256": stored.sha256,
        "content_type": stored.content_type,
    }


def _announce(generation: Generation, stored) -> None:
    """Charged and succeeded: tell its webhook. An inline caller (the OpenAI
    endpoint) answers from `image_data` when set; an image stored without a
    thumbnail gets one on its first showing (thumbnails.py)."""
    generation.image_data = stored.data
    generation_finished(generation=generation)


def _discard(stored) -> None:
    for name in filter(None, [stored.name, stored.thumbnail]):
        default_storage.delete(name)


def generation_record_result(generation: Generation, result) -> bool:
    """Keep what the provider said and move running -> storing; b64 bytes are
    stashed so the copy can be retried. False when the row ended meanwhile (the
    reaper took it) or the owner canceled: nothing is stored or charged."""
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if locked.status != Status.RUNNING or status.cancel_if_requested(locked):
            return False
        _copy_result_fields(generation, result)
        # Only these: the owner may have trashed or shared the row meanwhile.
        status.move(
            generation.pk, sources=Status.RUNNING, target=Status.STORING, **_result_fields(generation)
        )
        generation.status = Status.STORING
        if result.image_bytes is not None:
            PendingImage.objects.update_or_create(
                generation=generation, defaults={"data": result.image_bytes}
            )
    return True


RESULT_FIELDS = (
    "request_id",
    "rewritten_prompt",
    "reasoning",
    "seed_used",
    "source_url",
    "provider_cost",
    "error_code",
    "error_message",
    "source_expires_at",
)


def _result_fields(generation: Generation) -> dict:
    return {f: getattr(generation, f) for f in RESULT_FIELDS}


def _copy_result_fields(generation: Generation, result) -> None:
    generation.request_id = result.request_id or generation.request_id
    generation.rewritten_prompt = result.rewritten_prompt
    generation.reasoning = result.reasoning
    generation.seed_used = result.seed if result.seed is not None else generation.seed_used
    generation.source_url = result.image_url
    generation.provider_cost = result.cost
    generation.error_code = generation.error_message = ""
    # The URL's own signature is more exact than the provider's documented lifetime.
    generation.source_expires_at = (
        url_expiry(result.image_url, fallback=None) if result.image_url else None
    ) or result.url_expires_at


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
    return generation_copy(generation, get_provider(generation.provider), _stored_result(generation))


def generation_copy(
    generation: Generation, provider, result: GenerationResult, *, thumbnail: bool = True
) -> float | None:
    """generation_store's work, for a row, provider and result already in hand
    (right after the provider answered, none needs reading again)."""
    try:
        stored = _store_image(generation, provider, result, thumbnail=thumbnail)
    except StoreError as exc:
        return _store_failed(generation, exc)
    stashed = result.image_bytes is not None  # copied from the stash: drop it with the success
    drop = (lambda: PendingImage.objects.filter(generation=generation).delete()) if stashed else None
    if status.generation_succeed(generation, source=Status.STORING, fields=_stored_fields(stored), then=drop):
        _announce(generation, stored)
    return None


def _store_image(generation: Generation, provider, result: GenerationResult, *, thumbnail: bool):
    """store_image for this generation; a crash (a bug, not a bad image or an
    outage) becomes a permanent StoreError, so the row never stays in flight
    with credits held. The thread's database connection goes back to the pool
    first: a download from a slow host or an upload to a hanging store must
    not keep one from the threads that only need a moment of it."""
    connection_release_idle()
    try:
        return store_image(
            base_name=storage_base_name(generation),
            result=result,
            expect=(generation.width, generation.height),
            tolerance=provider.capabilities.size_tolerance,
            ratio_only=provider.capabilities.ratio_only,
            internal=provider.settings.internal,
            make_thumbnail=thumbnail,
        )
    except StoreError:
        raise
    except Exception as exc:
        log.exception("storing crashed for generation %s", generation.pk)
        raise StoreError(
            "InternalError", "The image could not be stored; your credits were returned."
        ) from exc


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
        store_attempts=attempts, updated_at=timezone.now(), error_code=exc.code, error_message=exc.message
    )
    if not exc.retryable:
        generation_fail(generation=generation, code=exc.code, message=exc.message)
        return None
    delay = min(backoff(attempts, base=settings.STORE_RETRY_BASE), settings.STORE_RETRY_MAX_DELAY)
    if timezone.now() + timedelta(seconds=delay) >= store_deadline(generation):
        generation_fail(
            generation=generation,
            code="ImageExpired",
            message=(
                "The provider's image link expired before the image could be copied "
                f"(last problem: {exc.message}); your credits were returned."
            ),
        )
        return None
    metrics.store_retried(generation.provider)
    log.info("generation %s: copy failed (%s), retry %d in %.1fs", generation.pk, exc.code, attempts, delay)
    return delay
