"""Workflows that cross models: create, run, store, cancel a generation."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import credits, idempotency, pricing
from .models import CreditAccount, Generation, Prompt, Tag
from .providers import GenerationRequest, InvalidRequest, ProviderError
from .providers.registry import default_provider_name, get_provider, usable_provider
from .storage import StoreError, store_image

log = logging.getLogger(__name__)
Status = Generation.Status


class LimitExceeded(Exception):
    pass


def generation_request(generation: Generation) -> GenerationRequest:
    return GenerationRequest(
        prompt=generation.prompt, width=generation.width, height=generation.height,
        seed=generation.seed_used, prompt_extend=generation.prompt_extend, steps=generation.steps,
    )


def generation_quote(*, provider: str | None, prompt: str, width: int, height: int,
                     seed: int | None = None, prompt_extend: bool = False,
                     steps: int | None = None) -> tuple[str, int]:
    """Validate against the provider's capabilities and price it: (provider, credits).
    Raises InvalidRequest naming the problem; touches nothing."""
    name = provider or default_provider_name()
    chosen = usable_provider(name)
    chosen.capabilities.validate(GenerationRequest(
        prompt=prompt, width=width, height=height, seed=seed, prompt_extend=prompt_extend,
        steps=steps))
    return name, pricing.price(provider=name, width=width, height=height,
                               prompt_extend=prompt_extend)


def generation_create(*, user, prompt: str, width: int, height: int, seed: int | None = None,
                      prompt_extend: bool = False, provider: str | None = None,
                      steps: int | None = None, saved_prompt: Prompt | None = None,
                      tags: Sequence[str] = (), webhook_url: str = "",
                      idempotency_key: str | None = None) -> Generation:
    """Validate, price, hold the credits, insert, and enqueue after commit.
    Raises InvalidRequest, LimitExceeded or credits.InsufficientCredits, writing nothing.

    With `idempotency_key`, a repeat of the same request within
    IDEMPOTENCY_WINDOW returns the first generation (with `replayed = True`)
    and holds nothing; the same key with other parameters raises
    idempotency.IdempotencyConflict."""
    fingerprint = idempotency.fingerprint(
        prompt=prompt, width=width, height=height, seed=seed, prompt_extend=prompt_extend,
        provider=provider, steps=steps, saved_prompt=saved_prompt, tags=tags,
        webhook_url=webhook_url)
    if replay := idempotency.replay(user=user, key=idempotency_key, fingerprint=fingerprint):
        return replay
    name, cost = generation_quote(provider=provider, prompt=prompt, width=width, height=height,
                                  seed=seed, prompt_extend=prompt_extend, steps=steps)
    seed_range = get_provider(name).capabilities.seed_range
    # Pick the seed here when none was asked, so every image can be made again.
    seed_used = seed if seed is not None or seed_range is None else random.randint(*seed_range)
    with transaction.atomic():
        account = CreditAccount.objects.select_for_update().get(pk=credits.account_for(user).pk)
        # Checked again under the account lock: two racing retries serialize here.
        if replay := idempotency.replay(user=user, key=idempotency_key, fingerprint=fingerprint):
            return replay
        _check_concurrency(user, account)
        generation = Generation.objects.create(
            owner=user, prompt=prompt, width=width, height=height, seed=seed,
            seed_used=seed_used, prompt_extend=prompt_extend, steps=steps, provider=name,
            credits_cost=cost, saved_prompt=saved_prompt, webhook_url=webhook_url,
            idempotency_key=idempotency_key or None, request_fingerprint=fingerprint,
        )
        credits.hold(generation=generation, amount=cost)
        _set_tags(generation, tags)
        transaction.on_commit(lambda: _enqueue(generation.pk))
    generation.replayed = False
    return generation


def _set_tags(generation: Generation, names: Sequence[str]) -> None:
    tags = [Tag.objects.get_or_create(owner=generation.owner, name=name)[0]
            for name in sorted(set(names))]
    generation.tags.set(tags)


def _check_concurrency(user, account: CreditAccount) -> None:
    limit = account.max_concurrent
    if limit and Generation.objects.owned_by(user).in_flight().count() >= limit:
        raise LimitExceeded(f"You already have {limit} generations in progress, the most your "
                            "account allows at once. Wait for one to finish.")


def _enqueue(generation_id, delay: float = 0) -> None:
    from .tasks import run_generation

    if delay:
        run_generation.schedule((str(generation_id),), delay=delay)
    else:
        run_generation(str(generation_id))


def generation_run(*, generation_id) -> float | None:
    """Run one queued generation to its end. Returns a delay in seconds when
    the provider asked to be tried again later (the caller re-schedules)."""
    claimed = Generation.objects.filter(pk=generation_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1)
    if not claimed:  # canceled, or another worker has it: running twice is harmless
        return None
    generation = Generation.objects.select_related("owner").get(pk=generation_id)
    try:
        result = get_provider(generation.provider).generate(generation_request(generation))
    except ProviderError as exc:
        return _provider_failed(generation, exc)
    except InvalidRequest as exc:
        generation_fail(generation=generation, code="InvalidRequest", message=exc.message)
        return None
    except Exception:  # a bug must not leave credits held or the row running
        log.exception("provider call crashed for generation %s", generation.pk)
        generation_fail(generation=generation, code="InternalError",
                        message="Something went wrong on our side; your credits were returned.")
        return None
    _record_result(generation, result)
    generation_store(generation=generation, result=result)
    return None


def _provider_failed(generation: Generation, exc: ProviderError) -> float | None:
    if exc.retryable and generation.attempts < settings.PROVIDER_MAX_ATTEMPTS:
        delay = backoff(generation.attempts, retry_after=exc.retry_after)
        Generation.objects.filter(pk=generation.pk, status=Status.RUNNING).update(
            status=Status.QUEUED, error_code=exc.code, error_message=exc.message)
        log.info("generation %s: %s, retry %d in %.1fs", generation.pk, exc.code,
                 generation.attempts, delay)
        return delay
    generation_fail(generation=generation, code=exc.code, message=exc.message,
                    request_id=exc.request_id)
    return None


def backoff(attempt: int, *, retry_after: float | None = None) -> float:
    """Exponential with full jitter, at least what the provider asked for."""
    base = settings.PROVIDER_RETRY_BASE * 2 ** (attempt - 1)
    delay = random.uniform(base / 2, base)
    return max(delay, retry_after or 0)


def _record_result(generation: Generation, result) -> None:
    generation.request_id = result.request_id or generation.request_id
    generation.rewritten_prompt = result.rewritten_prompt
    generation.reasoning = result.reasoning
    generation.seed_used = result.seed if result.seed is not None else generation.seed_used
    generation.source_url = result.image_url
    generation.source_expires_at = result.url_expires_at
    generation.provider_cost = result.cost
    generation.status = Status.STORING
    generation.error_code = generation.error_message = ""
    generation.save(update_fields=[
        "request_id", "rewritten_prompt", "reasoning", "seed_used", "source_url",
        "source_expires_at", "provider_cost", "status", "error_code", "error_message",
        "updated_at"])


def storage_base_name(generation: Generation) -> str:
    created = generation.created_at
    return f"generations/{generation.owner_id}/{created:%Y}/{created:%m}/{generation.pk}"


def generation_store(*, generation: Generation, result) -> None:
    """Copy the image into storage, then succeed and capture; or fail and release."""
    capabilities = get_provider(generation.provider).capabilities
    try:
        stored = store_image(base_name=storage_base_name(generation), result=result,
                             expect=(generation.width, generation.height),
                             tolerance=capabilities.size_tolerance)
    except StoreError as exc:
        generation_fail(generation=generation, code=exc.code, message=exc.message)
        return
    with transaction.atomic():
        updated = Generation.objects.filter(pk=generation.pk, status=Status.STORING).update(
            status=Status.SUCCEEDED, finished_at=timezone.now(), image=stored.name,
            thumbnail=stored.thumbnail, image_width=stored.width, image_height=stored.height,
            image_bytes=stored.size, sha256=stored.sha256, content_type=stored.content_type)
        if updated:
            credits.capture(generation=generation)
            generation_finished(generation=generation)


def generation_fail(*, generation: Generation, code: str, message: str,
                    request_id: str = "") -> None:
    """End a generation failed and give its credits back (once)."""
    with transaction.atomic():
        updated = Generation.objects.filter(pk=generation.pk, status__in=Generation.IN_FLIGHT)
        updated = updated.update(status=Status.FAILED, finished_at=timezone.now(),
                                 error_code=code[:80], error_message=message,
                                 request_id=request_id or generation.request_id)
        if updated:
            credits.release(generation=generation)
            generation_finished(generation=generation)
    log.info("generation %s failed: %s", generation.pk, code)


def generation_cancel(*, generation: Generation) -> bool:
    """Cancel a queued generation and release its credits at once."""
    with transaction.atomic():
        updated = Generation.objects.filter(pk=generation.pk, status=Status.QUEUED).update(
            status=Status.CANCELED, finished_at=timezone.now())
        if updated:
            credits.release(generation=generation)
            generation_finished(generation=generation)
    return bool(updated)


def stale_running(*, older_than: timedelta):
    cutoff = timezone.now() - older_than
    return Generation.objects.filter(status__in=[Status.RUNNING, Status.STORING],
                                     updated_at__lt=cutoff)


def generation_finished(*, generation: Generation) -> None:
    """A generation has just reached its end (once): tell its webhook, after commit."""
    if generation.webhook_url:
        from .webhooks import webhook_schedule

        transaction.on_commit(lambda: webhook_schedule(generation_id=generation.pk))


class GenerationInFlight(Exception):
    pass


def generation_remix(*, user, source: Generation, seed: int | None,
                     webhook_url: str = "", idempotency_key: str | None = None) -> Generation:
    """A new generation with `source`'s parameters and the given seed (None: random)."""
    return generation_create(
        user=user, prompt=source.prompt, width=source.width, height=source.height, seed=seed,
        prompt_extend=source.prompt_extend, provider=source.provider, steps=source.steps,
        saved_prompt=source.saved_prompt, tags=[t.name for t in source.tags.all()],
        webhook_url=webhook_url, idempotency_key=idempotency_key)


def generation_delete(*, generation: Generation) -> None:
    """Remove a finished generation's files and hide it. The row stays (marked
    deleted) because the ledger's hold and capture or release point at it."""
    if not generation.is_finished:
        raise GenerationInFlight("This generation is still in progress; cancel it first "
                                 "or wait for it to finish.")
    for field_file in (generation.image, generation.thumbnail):
        if field_file:
            field_file.storage.delete(field_file.name)
    Generation.objects.filter(pk=generation.pk).update(
        deleted_at=timezone.now(), image="", thumbnail="", idempotency_key=None)
